//! API tokens: the two [`Role`]s, [`TokenEntry`] (a token kept only as its SHA-256 hash),
//! [`hash_token`], the `role:token` line format of token files and `COGMAN_API_TOKENS`
//! ([`parse_tokens`]), and the constant-time lookup ([`role_of`]). Plain tokens are never
//! stored, logged or shown by `Debug`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest plain token accepted: tokens are compared by an unsalted hash, which is safe only
/// for long random tokens (`openssl rand -hex 32`).
pub const MIN_TOKEN_LEN: usize = 16;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// GET requests only (including `/metrics`).
    Read,
    /// Everything: send, retry, cancel as well as reads.
    Admin,
}

impl Role {
    /// True when this role may perform writes.
    pub fn can_write(self) -> bool {
        self == Role::Admin
    }

    /// The name used in token files: `read` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Role::Read),
            "admin" => Ok(Role::Admin),
            other => Err(TokenError::UnknownRole(other.chars().take(32).collect())),
        }
    }
}

/// Why a token line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// A line is not `role:token`.
    #[error("line {line}: expected `admin:<token>` or `read:<token>`")]
    Malformed {
        /// 1-based line number.
        line: usize,
    },
    /// The role is neither `read` nor `admin`.
    #[error("unknown role {0:?} (expected read or admin)")]
    UnknownRole(String),
    /// The token is too short to be safe.
    #[error(
        "line {line}: token is shorter than {MIN_TOKEN_LEN} characters; use a long random token"
    )]
    TooShort {
        /// 1-based line number.
        line: usize,
    },
    /// The same token is listed with two roles (it would silently get the stronger one).
    #[error(
        "a token is listed both as read and as admin; give each token one role (its SHA-256 starts {prefix})"
    )]
    TwoRoles {
        /// The first 8 hex digits of the token's SHA-256, to find it in the files.
        prefix: String,
    },
    /// A `sha256:` hash is not 64 hex digits.
    #[error("line {line}: a sha256: hash must be 64 hex digits")]
    BadHash {
        /// 1-based line number.
        line: usize,
    },
}

/// One accepted token: its SHA-256 hash and role.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// What it may do.
    pub role: Role,
}

impl fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEntry")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl TokenEntry {
    /// An entry for a plain token (hashed here; the plain text is not kept).
    pub fn from_plain(token: &str, role: Role) -> Self {
        TokenEntry {
            hash: hash_token(token),
            role,
        }
    }
}

/// SHA-256 of a token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A hash as lowercase hex (for `sha256:<hex>` lines).
pub fn hash_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Checks that no token is listed with two roles (in one source or across the token file
/// and `COGMAN_API_TOKENS`). The same token twice with one role is fine.
///
/// # Errors
/// [`TokenError::TwoRoles`].
pub fn check_roles(tokens: &[TokenEntry]) -> Result<(), TokenError> {
    for (i, entry) in tokens.iter().enumerate() {
        if tokens[..i]
            .iter()
            .any(|earlier| earlier.hash == entry.hash && earlier.role != entry.role)
        {
            return Err(TokenError::TwoRoles {
                prefix: hash_hex(&entry.hash)[..8].to_owned(),
            });
        }
    }
    Ok(())
}

/// Parses token lines: `admin:<token>`, `read:<token>`, or `admin:sha256:<64 hex>` to give
/// only the hash. Blank lines and lines starting with `#` are skipped; entries may also be
/// separated by commas (for `COGMAN_API_TOKENS`).
///
/// # Errors
/// The first [`TokenError`] found; [`TokenError::TwoRoles`] when a token is listed with both
/// roles.
pub fn parse_tokens(text: &str) -> Result<Vec<TokenEntry>, TokenError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for item in line
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            entries.push(parse_entry(item, number)?);
        }
    }
    check_roles(&entries)?;
    Ok(entries)
}

fn parse_entry(item: &str, line: usize) -> Result<TokenEntry, TokenError> {
    let (role, token) = item.split_once(':').ok_or(TokenError::Malformed { line })?;
    let role: Role = role.trim().parse()?;
    if let Some(hex) = token.strip_prefix("sha256:") {
        let hash = parse_hex(hex).ok_or(TokenError::BadHash { line })?;
        return Ok(TokenEntry { hash, role });
    }
    if token.chars().count() < MIN_TOKEN_LEN {
        return Err(TokenError::TooShort { line });
    }
    Ok(TokenEntry::from_plain(token, role))
}

/// The role of `presented`, or `None` when no entry matches. Every entry is compared in
/// constant time, and all entries are always compared, so timing reveals nothing about which
/// (or whether one) matched.
pub fn role_of(entries: &[TokenEntry], presented: &str) -> Option<Role> {
    let hash = hash_token(presented);
    let mut found: Option<Role> = None;
    for entry in entries {
        let matches: bool = entry.hash.ct_eq(&hash).into();
        if matches {
            found = Some(found.map_or(entry.role, |role| role.max(entry.role)));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "admin-token-0123456789";
    const READER: &str = "read-token-0123456789";

    #[test]
    fn lines_parse_into_hashed_entries() {
        let text = format!(
            "# tokens\n\nadmin:{ADMIN}\nread:{READER}, read:sha256:{}\n",
            hash_hex(&hash_token("x"))
        );
        let entries = parse_tokens(&text).expect("valid lines");
        assert_eq!(entries.len(), 3);
        assert_eq!(role_of(&entries, ADMIN), Some(Role::Admin));
        assert_eq!(role_of(&entries, READER), Some(Role::Read));
        assert_eq!(role_of(&entries, "x"), Some(Role::Read));
        assert_eq!(role_of(&entries, "admin-token-012345678"), None);
        assert!(!format!("{entries:?}").contains(ADMIN));
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        assert_eq!(
            parse_tokens("admin"),
            Err(TokenError::Malformed { line: 1 })
        );
        assert_eq!(
            parse_tokens(&format!("\nroot:{ADMIN}")),
            Err(TokenError::UnknownRole("root".into()))
        );
        assert_eq!(
            parse_tokens("read:short"),
            Err(TokenError::TooShort { line: 1 })
        );
        assert_eq!(
            parse_tokens("read:sha256:abc"),
            Err(TokenError::BadHash { line: 1 })
        );
    }

    #[test]
    fn a_token_with_two_roles_is_refused() {
        let hashed = hash_hex(&hash_token(ADMIN));
        for text in [
            format!("admin:{ADMIN}\nread:{ADMIN}"),
            format!("read:{ADMIN},admin:sha256:{hashed}"),
        ] {
            assert!(
                matches!(parse_tokens(&text), Err(TokenError::TwoRoles { .. })),
                "{text}"
            );
        }
        assert!(parse_tokens(&format!("admin:{ADMIN}\nadmin:{ADMIN}")).is_ok());
        let across = [
            TokenEntry::from_plain(ADMIN, Role::Read),
            TokenEntry::from_plain(ADMIN, Role::Admin),
        ];
        let refused = check_roles(&across).expect_err("two roles");
        assert!(
            !refused.to_string().contains(ADMIN),
            "the token is never shown"
        );
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = hash_token(ADMIN);
        assert_eq!(parse_hex(&hash_hex(&hash)), Some(hash));
        assert_eq!(parse_hex(&"zz".repeat(32)), None);
    }
}
