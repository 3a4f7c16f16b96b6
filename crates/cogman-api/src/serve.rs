//! Serving the router: [`serve`] binds an address, [`serve_listener`] uses a bound listener;
//! both refuse a non-loopback address when no tokens are configured, and a token given two
//! roles ([`check_bind`]), serve with the connection limits of `connections`, and stop
//! gracefully when the shutdown future resolves.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use crate::connections::{ConnectionLimits, serve_connections};
use crate::options::ApiOptions;
use crate::routes::router;
use crate::state::ApiState;

/// The default address: loopback only.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Why the API could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A non-loopback address without tokens would expose every task to the network.
    #[error(
        "refusing to serve on {addr} without API tokens: anyone who can reach it could read and change tasks; \
         configure tokens (--token-file or COGMAN_API_TOKENS) or listen on 127.0.0.1"
    )]
    NoTokensOnPublicAddress {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The tokens are not usable (the same token given two roles).
    #[error(transparent)]
    Tokens(#[from] crate::token::TokenError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the HTTP server failed")]
    Io(#[source] std::io::Error),
}

/// Checks that serving on `addr` with `options` is safe: no token has two roles, and a
/// non-loopback address needs tokens.
///
/// # Errors
/// [`ServeError::Tokens`], [`ServeError::NoTokensOnPublicAddress`].
pub fn check_bind(addr: SocketAddr, options: &ApiOptions) -> Result<(), ServeError> {
    crate::token::check_roles(&options.tokens)?;
    if addr.ip().is_loopback() || options.requires_auth() {
        Ok(())
    } else {
        Err(ServeError::NoTokensOnPublicAddress { addr })
    }
}

/// Binds `addr` and serves until `shutdown` resolves.
///
/// # Errors
/// [`ServeError::NoTokensOnPublicAddress`] and [`ServeError::Tokens`] (checked before
/// binding), [`ServeError::Bind`],
/// [`ServeError::Io`].
pub async fn serve(
    addr: SocketAddr,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check_bind(addr, state.options())?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    serve_listener(listener, state, shutdown).await
}

/// Serves on a bound listener until `shutdown` resolves, then lets open requests finish.
///
/// # Errors
/// [`ServeError::NoTokensOnPublicAddress`] when the listener is not on loopback and no tokens
/// are configured; [`ServeError::Tokens`]; [`ServeError::Io`].
pub async fn serve_listener(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().map_err(ServeError::Io)?;
    check_bind(addr, state.options())?;
    tracing::info!(%addr, auth = state.options().requires_auth(), "serving the cogman API");
    let limits = ConnectionLimits::from(state.options());
    // Live-feed streams never end on their own: closing them lets the open requests finish.
    let events = state.events().clone();
    let shutdown = async move {
        shutdown.await;
        events.close();
    };
    serve_connections(listener, router(state), limits, shutdown)
        .await
        .map_err(ServeError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Role, TokenEntry};

    #[test]
    fn public_addresses_need_tokens() {
        let open = ApiOptions::default();
        let locked = ApiOptions::with_tokens(vec![TokenEntry::from_plain(
            "0123456789abcdef",
            Role::Admin,
        )]);
        let public: SocketAddr = "0.0.0.0:8080".parse().expect("address");
        let v6_loopback: SocketAddr = "[::1]:8080".parse().expect("address");
        assert!(check_bind(DEFAULT_LISTEN, &open).is_ok());
        assert!(check_bind(v6_loopback, &open).is_ok());
        let refused = check_bind(public, &open).expect_err("refused");
        assert!(matches!(refused, ServeError::NoTokensOnPublicAddress { addr } if addr == public));
        assert!(refused.to_string().contains("without API tokens"));
        assert!(check_bind(public, &locked).is_ok());
        let mut both = locked.clone();
        both.tokens
            .push(TokenEntry::from_plain("0123456789abcdef", Role::Read));
        let refused = check_bind(DEFAULT_LISTEN, &both).expect_err("two roles");
        assert!(matches!(refused, ServeError::Tokens(_)), "{refused}");
    }
}
