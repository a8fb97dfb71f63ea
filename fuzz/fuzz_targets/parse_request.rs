//! Fuzz the request-head parser and the chunked decoder: no panic on any input, and every
//! length they report stays within the bytes they were given.
#![no_main]

use rgunicorn_http::{parse_request_head, BodyFraming, ChunkedDecoder, HeaderMapPolicy, Limits};
use libfuzzer_sys::fuzz_target;

fn permissive() -> Limits {
    Limits {
        request_line: 0,
        fields: 0,
        field_size: 0,
        permit_obsolete_folding: true,
        header_map: HeaderMapPolicy::Dangerous,
        strip_header_spaces: true,
        permit_unconventional_http_method: true,
        permit_unconventional_http_version: true,
        casefold_http_method: true,
    }
}

fn decode_chunked(body: &[u8]) {
    // Whole, then in two pieces: both must agree.
    let mut whole = ChunkedDecoder::new();
    let mut out = Vec::new();
    let result = whole.decode(body, &mut out);
    if let Ok((used, done)) = result {
        assert!(used <= body.len());
        assert_eq!(done, whole.is_done());
    }
    let split = body.len() / 2;
    let mut halves = ChunkedDecoder::new();
    let mut out2 = Vec::new();
    let split_result = halves.decode(&body[..split], &mut out2).and_then(|(a, done)| {
        if done {
            Ok((a, true))
        } else {
            halves.decode(&body[split..], &mut out2).map(|(b, done)| (a + b, done))
        }
    });
    assert_eq!(result, split_result);
    if result.is_ok() {
        assert_eq!(out, out2);
    }
}

fuzz_target!(|data: &[u8]| {
    for limits in [Limits::default(), permissive()] {
        match parse_request_head(data, &limits) {
            Ok(Some(head)) => {
                assert!(head.head_len <= data.len());
                assert!(head.head_len <= rgunicorn_http::max_head_len(&limits));
                let rest = &data[head.head_len..];
                if head.framing == BodyFraming::Chunked {
                    decode_chunked(rest);
                }
            }
            Ok(None) => assert!(data.len() <= rgunicorn_http::max_head_len(&limits)),
            Err(err) => {
                assert!(matches!(err.status(), 400 | 414 | 417 | 431 | 501));
            }
        }
    }
    // The decoder on its own sees arbitrary bytes too.
    decode_chunked(data);
});
