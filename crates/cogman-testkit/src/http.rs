//! The parts of a raw HTTP/1.1 answer the tests that speak plain TCP to a server read.

/// The status code and the body of `answer`, a whole HTTP/1.1 response as text.
///
/// # Panics
/// When `answer` has no status line with a number (the server did not answer HTTP).
pub fn status_and_body(answer: &str) -> (u16, String) {
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (code, body)
}
