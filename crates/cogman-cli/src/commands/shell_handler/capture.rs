//! Reading a handler command's output while it runs: stdout up to the result limit (stopping
//! at the first byte over it), stderr keeping only its end, and text tails of both.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes read per call.
const CHUNK: usize = 64 * 1024;

/// What was read from a stream.
#[derive(Debug, Default)]
pub(super) struct Captured {
    /// Everything read (stdout: up to the limit; stderr: its last bytes).
    pub(super) bytes: Vec<u8>,
    /// More than the limit was written: reading stopped there.
    pub(super) overflowed: bool,
}

/// Which bytes of a stream to keep.
#[derive(Debug, Clone, Copy)]
pub(super) enum Keep {
    /// All of them, unless there are more than this: then reading stops at the overflow.
    UpTo(usize),
    /// Only the last this many; reading goes on to the end.
    Last(usize),
}

/// Reads `stream` to its end (or, with [`Keep::UpTo`], to its overflow), keeping what `keep`
/// says. A read error ends the stream.
pub(super) async fn read(mut stream: impl AsyncRead + Unpin, keep: Keep) -> Captured {
    let mut captured = Captured::default();
    let mut chunk = vec![0; CHUNK];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return captured,
            Ok(n) => n,
        };
        match keep {
            Keep::UpTo(limit) if captured.bytes.len() + n > limit => {
                captured.overflowed = true;
                return captured;
            }
            Keep::UpTo(_) => captured.bytes.extend_from_slice(&chunk[..n]),
            Keep::Last(last) => {
                captured.bytes.extend_from_slice(&chunk[..n]);
                let excess = captured.bytes.len().saturating_sub(last);
                if excess > 0 {
                    captured.bytes.drain(..excess);
                    captured.overflowed = true;
                }
            }
        }
    }
}

/// The last `max_bytes` bytes of `bytes` as text (invalid UTF-8 replaced), starting on a
/// character boundary.
pub(super) fn tail_text(bytes: &[u8], max_bytes: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(max_bytes)..]);
    let skip = text.len().saturating_sub(max_bytes);
    let start = (skip..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stdout_stops_at_the_first_byte_over_the_limit() {
        let within = read(&[7u8; 10][..], Keep::UpTo(10)).await;
        assert_eq!((within.bytes.len(), within.overflowed), (10, false));
        let over = read(&[7u8; 11][..], Keep::UpTo(10)).await;
        assert!(over.overflowed);
    }

    #[tokio::test]
    async fn stderr_keeps_its_end() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let tail = read(&big[..], Keep::Last(4096)).await;
        assert_eq!(tail.bytes, big[big.len() - 4096..]);
        assert!(tail.overflowed);
    }

    #[test]
    fn tails_are_text_cut_on_a_character_boundary() {
        assert_eq!(tail_text("héllo".as_bytes(), 4), "llo");
        assert_eq!(tail_text(b"abc", 10), "abc");
    }
}
