//! Writing to standard output without panicking: [`outln!`] returns an error instead of
//! panicking as `println!` does, and [`is_closed_pipe`] recognises a reader that went away
//! (`cogman tasks | head -1`), which ends the command quietly, as `ls | head` does.

use std::io::Write;

/// Writes a line to standard output; `?` on the result stops the command if the reader is
/// gone.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_line(&format!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes `text` and a newline to standard output, flushed.
pub(crate) fn write_line(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}

/// Writes `bytes` to standard output as they are, flushed.
pub(crate) fn write_raw(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// Whether `error` (or any cause of it) is a write to a pipe whose reader closed.
pub(crate) fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
