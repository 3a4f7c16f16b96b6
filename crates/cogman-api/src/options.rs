//! [`ApiOptions`]: who may call the API, the host names it answers to, and the limits every
//! request and connection runs under.

use std::time::Duration;

use crate::token::TokenEntry;

/// How the API serves requests.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Accepted tokens. Empty: no authentication, which [`crate::serve`] allows only on a
    /// loopback address.
    pub tokens: Vec<TokenEntry>,
    /// Host names (the `Host` header, port left out) the server answers to besides IP
    /// addresses and `localhost`, which it always answers to. Any other name is refused
    /// (421), so a web page cannot reach the API through DNS rebinding. `"*"` allows every
    /// name. Default: none.
    pub allowed_hosts: Vec<String>,
    /// Largest request body, in bytes; larger bodies get 413 before they are buffered.
    /// Default 2 MiB.
    pub body_limit: usize,
    /// Longest time one request may take; slower ones get 503. Default 10 s.
    pub request_timeout: Duration,
    /// Longest time between the first byte of a request and the end of its header; a slower
    /// connection is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// Longest time a connection may stay open without a request in progress (a new
    /// connection that sends nothing, or a kept-alive one between requests); it is then
    /// closed. Default 60 s.
    pub idle_timeout: Duration,
    /// Most connections served at once; further ones get a 503 and are closed. Default 1024.
    pub max_connections: usize,
    /// How often the live feed (`GET /events`) reads the task log while someone listens.
    /// Default 1 s.
    pub events_interval: Duration,
}

impl ApiOptions {
    /// Default body limit: 2 MiB (room for a 1 MiB payload in base64).
    pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
    /// Default request timeout: 10 s.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default header-read timeout: 10 s.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default idle timeout: 60 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default connection limit: 1024.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    /// Default live-feed interval: 1 s.
    pub const DEFAULT_EVENTS_INTERVAL: Duration = Duration::from_secs(1);

    /// Defaults with these tokens.
    #[must_use]
    pub fn with_tokens(tokens: Vec<TokenEntry>) -> Self {
        ApiOptions {
            tokens,
            ..ApiOptions::default()
        }
    }

    /// True when requests must carry a token.
    pub fn requires_auth(&self) -> bool {
        !self.tokens.is_empty()
    }
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            tokens: Vec::new(),
            allowed_hosts: Vec::new(),
            body_limit: Self::DEFAULT_BODY_LIMIT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            events_interval: Self::DEFAULT_EVENTS_INTERVAL,
        }
    }
}
