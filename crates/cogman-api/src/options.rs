//! [`ApiOptions`]: who may call the API and the limits every request runs under.

use std::time::Duration;

use crate::token::TokenEntry;

/// How the API serves requests.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Accepted tokens. Empty: no authentication, which [`crate::serve`] allows only on a
    /// loopback address.
    pub tokens: Vec<TokenEntry>,
    /// Largest request body, in bytes; larger bodies get 413 before they are buffered.
    /// Default 2 MiB.
    pub body_limit: usize,
    /// Longest time one request may take; slower ones get 503. Default 10 s.
    pub request_timeout: Duration,
}

impl ApiOptions {
    /// Default body limit: 2 MiB (room for a 1 MiB payload in base64).
    pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
    /// Default request timeout: 10 s.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
            body_limit: Self::DEFAULT_BODY_LIMIT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}
