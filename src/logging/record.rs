//! The facts of one finished request, as the worker gathers them for the access log. Apart from
//! [`super::access`], which renders them, so that [`super::logger_class`] can take them too
//! without the two writers depending on each other.

use std::time::Duration;

/// The facts of one finished request.
pub struct Record<'a> {
    /// `REMOTE_ADDR`.
    pub remote_addr: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The raw request target.
    pub raw_uri: &'a str,
    /// `HTTP/1.1`.
    pub protocol: &'a str,
    /// `PATH_INFO` (decoded).
    pub path_info: &'a str,
    /// `QUERY_STRING`.
    pub query: &'a str,
    /// The status code sent.
    pub status: u16,
    /// Body bytes sent.
    pub sent: u64,
    /// Request headers as received.
    pub request_headers: &'a [(String, Vec<u8>)],
    /// Response headers as sent by the app.
    pub response_headers: &'a [(String, String)],
    /// `{var}e` values, keys lower-case.
    pub environ: Vec<(String, String)>,
    /// Time from the complete request head to the end of the response.
    pub duration: Duration,
}

impl Record<'_> {
    /// A request header's value by its lower-case name, bytes read as latin-1.
    pub fn request_header(&self, lower: &str) -> Option<String> {
        self.request_headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(lower))
            .map(|(_, v)| v.iter().map(|&b| b as char).collect())
    }
}
