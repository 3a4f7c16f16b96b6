//! [`Namespace`]: one namespace on one server — the connection, the namespace's key names and
//! the loaded scripts. The reading helpers (`read`, `index`, `list`, `counts`, `purge`) take
//! it, as the SQLite crate's helpers take a connection; the [`RedisLog`](crate::RedisLog)
//! handle owns one.

use crate::conn::Conn;
use crate::keys::Keys;
use crate::scripts::Scripts;

/// The connection, key names and scripts of one namespace.
#[derive(Debug)]
pub(crate) struct Namespace {
    pub(crate) conn: Conn,
    pub(crate) keys: Keys,
    pub(crate) scripts: Scripts,
}
