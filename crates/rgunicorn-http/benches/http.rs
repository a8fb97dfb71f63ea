//! Micro-benchmarks of the sans-I/O HTTP layer: request-head parsing, chunked body decoding and
#![allow(missing_docs)] // criterion_group! generates an undocumented `pub fn benches`.
//! response-head serialisation, through the crate's public API only.
//!
//! `cargo bench -p rgunicorn-http --bench http` (add `-- parse` to run one group). Criterion prints time per
//! iteration and, where a group sets a throughput, bytes per second. The end-to-end suite is
//! `bench/run`; see `bench/README.md` for how these numbers relate to it.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use rgunicorn_http::response::{
    error_response, push_http_date, write_chunk_header, write_head, CHUNK_TRAILER, LAST_CHUNK,
};
use rgunicorn_http::{parse_request_head, ChunkedDecoder, HttpError, Limits, Version};

/// What wrk sends: the request of every load run in `bench/run`.
const WRK_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n";

/// A browser's navigation request (Chrome-like, 775 bytes, 15 fields).
const BROWSER_GET: &[u8] = b"GET /articles/2026/11/rust-wsgi-servers?page=2&sort=recent HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
Cache-Control: max-age=0\r\n\
sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Referer: https://www.example.com/articles/2026/11/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n\
Cookie: sessionid=4f6c1e0b9a2d4c8e8f1a7b3c5d9e2f10; csrftoken=Zq8yX3w2V1u0T9s8R7q6P5o4N3m2L1k0\r\n\r\n";

/// The echo app's request in `bench/run`: a POST with a Content-Length (body not included).
const POST_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
Content-Type: application/octet-stream\r\nContent-Length: 4096\r\n\r\n";

/// A request with 60 fields: the per-field cost.
fn many_fields() -> Vec<u8> {
    let mut req = b"GET /many HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    for i in 0..59 {
        req.extend_from_slice(format!("X-Custom-Header-{i}: value number {i} of a longish header\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req
}

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let many = many_fields();
    let mut group = c.benchmark_group("parse_request_head");
    for (name, input) in
        [("wrk_get", WRK_GET), ("browser_get", BROWSER_GET), ("post_content_length", POST_HEAD), ("60_fields", &many)]
    {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| parse_request_head(black_box(input), black_box(&limits)).expect("a valid request head"))
        });
    }
    // A head that arrived in two reads: the first call must answer "need more" cheaply.
    let partial = &BROWSER_GET[..BROWSER_GET.len() / 2];
    group.throughput(Throughput::Bytes(partial.len() as u64));
    group.bench_function("browser_get_half_then_need_more", |b| {
        b.iter(|| parse_request_head(black_box(partial), black_box(&limits)).expect("a valid prefix"))
    });
    group.finish();
}

/// A chunked request body: `chunks` chunks of `size` bytes, then the last chunk.
fn chunked_body(chunks: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..chunks {
        write_chunk_header(&mut out, size);
        out.extend(std::iter::repeat_n(b'c', size));
        out.extend_from_slice(CHUNK_TRAILER);
    }
    out.extend_from_slice(LAST_CHUNK);
    out
}

fn decode_chunked(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunked_decode");
    for (name, chunks, size) in [("64KiB_in_1KiB_chunks", 64, 1024), ("64KiB_in_16KiB_chunks", 4, 16 * 1024)] {
        let body = chunked_body(chunks, size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || (ChunkedDecoder::new(), Vec::with_capacity(chunks * size)),
                |(decoder, out)| {
                    let (used, done) = decoder.decode(black_box(&body), out).expect("a valid chunked body");
                    assert!(done && used == body.len());
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn serialise(c: &mut Criterion) {
    let mut group = c.benchmark_group("response_head");
    let mut date = Vec::new();
    push_http_date(&mut date);
    let date = String::from_utf8(date).expect("IMF-fixdate is ASCII");
    // What the worker sends for the hello app.
    let hello: Vec<(&str, &str)> =
        vec![("Server", "rgunicorn"), ("Date", &date), ("Content-Type", "text/plain"), ("Content-Length", "13")];
    // A framework's response: cookies, caching and security headers.
    let framework: Vec<(&str, &str)> = vec![
        ("Server", "rgunicorn"),
        ("Date", &date),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "18734"),
        ("Cache-Control", "private, max-age=0, must-revalidate"),
        ("Vary", "Cookie, Accept-Encoding"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Set-Cookie", "sessionid=4f6c1e0b9a2d4c8e8f1a7b3c5d9e2f10; HttpOnly; Path=/; SameSite=Lax; Secure"),
        ("Set-Cookie", "csrftoken=Zq8yX3w2V1u0T9s8R7q6P5o4N3m2L1k0; Path=/; SameSite=Lax; Secure"),
    ];
    for (name, headers) in [("hello_4_fields", &hello), ("framework_12_fields", &framework)] {
        group.bench_function(name, |b| {
            let mut out = Vec::with_capacity(1024);
            b.iter(|| {
                out.clear();
                write_head(&mut out, Version::Http11, black_box("200 OK"), black_box(headers));
                black_box(&out);
            })
        });
    }
    group.bench_function("date_cached", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            push_http_date(&mut out);
            black_box(&out);
        })
    });
    group.bench_function("chunk_header_1KiB", |b| {
        let mut out = Vec::with_capacity(16);
        b.iter(|| {
            out.clear();
            write_chunk_header(&mut out, black_box(1024));
            black_box(&out);
        })
    });
    group.bench_function("error_response_400", |b| b.iter(|| error_response(black_box(&HttpError::BareLineFeed))));
    group.finish();
}

criterion_group!(benches, parse, decode_chunked, serialise);
criterion_main!(benches);
