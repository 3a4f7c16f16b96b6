//! [`free_port`]: a TCP port nothing listens on right now (bind port 0, read it, close). The
//! port may be taken again before the server binds it: starters retry on fresh ports.

use std::net::{Ipv4Addr, TcpListener};

use super::ServerError;

/// A port on 127.0.0.1 that was free a moment ago.
///
/// # Errors
/// [`ServerError::Io`] when no socket can be bound.
pub fn free_port() -> Result<u16, ServerError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(ServerError::io("binding port 0"))?;
    let port = listener
        .local_addr()
        .map_err(ServerError::io("reading the bound port"))?
        .port();
    Ok(port)
}

/// Two distinct free ports.
pub(crate) fn free_pair() -> Result<(u16, u16), ServerError> {
    // Hold the first listener while asking for the second, so they differ.
    let first =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(ServerError::io("binding port 0"))?;
    let second = free_port()?;
    let port = first
        .local_addr()
        .map_err(ServerError::io("reading the bound port"))?
        .port();
    Ok((port, second))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_nonzero_and_distinct() {
        let (a, b) = super::free_pair().expect("two ports");
        assert!(a > 0 && b > 0);
        assert_ne!(a, b);
    }
}
