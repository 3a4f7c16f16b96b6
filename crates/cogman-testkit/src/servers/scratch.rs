//! Scratch directories for private servers: fresh, under the system temp dir, readable by the
//! service users the servers run as (`rabbitmq`, `postgres`), and handed to them with `chown`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::process::Command;

use super::{ServerError, command};

/// A fresh, empty directory `cogman-{kind}-{pid}-{n}` (mode 0755) under the temp dir.
///
/// # Errors
/// [`ServerError::Io`] when it cannot be created.
pub(crate) fn fresh(kind: &str) -> Result<PathBuf, ServerError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cogman-{kind}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(ServerError::io(format!("creating {}", dir.display())))?;
    set_mode(&dir)?;
    Ok(dir)
}

#[cfg(unix)]
fn set_mode(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(ServerError::io(format!("chmod {}", dir.display())))
}

#[cfg(not(unix))]
fn set_mode(_: &Path) -> Result<(), ServerError> {
    Ok(())
}

/// Gives `path` (recursively) to `user`.
///
/// # Errors
/// [`ServerError::Failed`] when `chown` fails (not root, unknown user).
pub(crate) async fn give_to(path: &Path, user: &str) -> Result<(), ServerError> {
    command::output(
        Command::new("chown")
            .arg("-R")
            .arg(format!("{user}:{user}"))
            .arg(path),
    )
    .await
    .map(drop)
}
