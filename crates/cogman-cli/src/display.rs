//! How stored values are shown on a terminal: control characters escaped (a stored name or
//! error can never rewrite the operator's screen), payloads and results as a short preview
//! with their size, errors cut short with `…`, sizes in KiB/MiB, and times one way everywhere
//! (UTC, with the zone written).

use chrono::{DateTime, Utc};

/// Characters of a payload or result preview in `cogman status`.
pub(crate) const PREVIEW_CHARS: usize = 120;

/// Characters of an error in a list (`cogman tasks`, attempts).
pub(crate) const SHORT_ERROR_CHARS: usize = 60;

/// `text` with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`, …), so that
/// printing it cannot move the cursor, change colours or clear the screen.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` escaped and cut to `max` characters, ending with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut short: String = escaped.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// A size in bytes, KiB or MiB.
pub(crate) fn size(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let n = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if n < KIB * KIB {
        format!("{:.1} KiB", n / KIB)
    } else {
        format!("{:.1} MiB", n / (KIB * KIB))
    }
}

/// A one-line preview of payload or result bytes, with their size: escaped text cut to
/// `max` characters, or the first bytes in hex for binary data (not UTF-8, or with a NUL).
pub(crate) fn preview(bytes: &[u8], max: usize) -> String {
    if bytes.is_empty() {
        return "(empty)".to_owned();
    }
    let size = size(bytes.len());
    match std::str::from_utf8(bytes) {
        Ok(text) if !bytes.contains(&0) => format!("{} ({size})", cut(text, max)),
        _ => {
            let shown = (max / 3).max(1);
            let hex: Vec<String> = bytes
                .iter()
                .take(shown)
                .map(|b| format!("{b:02x}"))
                .collect();
            let more = if bytes.len() > shown { " …" } else { "" };
            format!("binary, {size}: {}{more}", hex.join(" "))
        }
    }
}

/// A moment as every command shows it: `2026-12-03 08:15:33.123 UTC`.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// Result bytes for a terminal: as they are, except control characters other than newline
/// and tab, which are escaped (so `send --wait` output stays readable and harmless).
pub(crate) fn terminal_safe(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\u{1b}[31mred\r\nx"), "a\\u{1b}[31mred\\r\\nx");
        assert_eq!(terminal_safe(b"a\x1b[2J\nb\t"), "a\\u{1b}[2J\nb\t");
    }

    #[test]
    fn previews_are_short_and_sized() {
        assert_eq!(preview(b"", 10), "(empty)");
        assert_eq!(preview(b"hello", 10), "hello (5 bytes)");
        assert_eq!(preview(b"line one\nline two", 10), "line one\\… (17 bytes)");
        assert_eq!(preview(&[0x89, b'P', 0, 1], 6), "binary, 4 bytes: 89 50 …");
        assert_eq!(size(70 * 1024), "70.0 KiB");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
    }
}
