//! Authentication: Supabase access tokens verified at the edge. `jwt` is the
//! pure verifier; `jwks` the key-set cache policy. The platform layer fetches
//! the key set and calls these.

pub mod crypto;
pub mod jwks;
pub mod jwt;
pub mod mint;

pub use jwt::{AuthUser, Verifier, VerifyError, LEEWAY_SECS, MAX_TOKEN_BYTES};

/// Compares two secrets in time that depends only on their length, so a
/// caller cannot learn a key byte by byte from answer times.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Extracts the bearer token from an `Authorization` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, VerifyError> {
    let value = header.ok_or(VerifyError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(VerifyError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(VerifyError::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(VerifyError::Missing);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd") && !same_secret(b"abc", b"ab") && !same_secret(b"", b"a"));
    }

    #[test]
    fn bearer_scheme_is_required() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(VerifyError::Missing));
        assert_eq!(bearer_token(Some("Basic abc")), Err(VerifyError::Malformed));
        assert_eq!(bearer_token(Some("Bearer ")), Err(VerifyError::Malformed));
        assert_eq!(bearer_token(Some("abc")), Err(VerifyError::Malformed));
    }
}
