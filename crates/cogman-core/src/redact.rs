//! [`redact_uri`]: hides the password of a connection URI (`amqp://`, `redis://`,
//! `postgres://` ...) so configs can be printed and logged safely.

/// `scheme://user:secret@host/...` becomes `scheme://user:***@host/...`; a URI without a
/// password comes back unchanged. The last `@` of the authority ends the user info, so
/// passwords containing `@` are hidden whole.
///
/// ```
/// use cogman_core::redact_uri;
/// assert_eq!(redact_uri("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
/// assert_eq!(redact_uri("postgres://u@h/db"), "postgres://u@h/db");
/// ```
pub fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return uri.to_owned();
    };
    let rest = &uri[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return uri.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return uri.to_owned();
    };
    format!(
        "{}{}:***{}",
        &uri[..scheme_end],
        &authority[..colon],
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::redact_uri;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_uri("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_uri("postgres://u:p@ss@host/db?x=1"),
            "postgres://u:***@host/db?x=1"
        );
        assert_eq!(
            redact_uri("amqps://u:p@w@host?heartbeat=5"),
            "amqps://u:***@host?heartbeat=5"
        );
        assert_eq!(redact_uri("amqp://host:5672"), "amqp://host:5672");
        assert_eq!(redact_uri("amqp://user@host"), "amqp://user@host");
        assert_eq!(redact_uri("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact_uri("not a uri"), "not a uri");
    }
}
