//! Pure verification of Supabase access tokens: signature (HS256 with the
//! project secret, ES256/RS256 with JWKS keys picked by `kid`), an algorithm
//! allow-list tied to the key type, time claims with a small leeway,
//! audience, issuer, a UUID subject and the `authenticated` role.

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

pub use crate::limits::{LEEWAY_SECS, MAX_TOKEN_BYTES};

/// Why a token was refused. Logged, never sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Missing,
    Malformed,
    TooLarge,
    AlgorithmNotAllowed(String),
    /// HS256 token but no secret configured.
    NoSecret,
    /// No key with this `kid` in the current key set: the caller may refetch.
    UnknownKid(Option<String>),
    BadSignature(String),
    Expired,
    NotYetValid,
    WrongAudience,
    WrongIssuer,
    BadSubject,
    WrongRole(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub email: Option<String>,
    /// The raw token, forwarded to PostgREST so RLS sees the same caller.
    pub token: String,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    role: Option<String>,
    email: Option<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
}

/// What a token is checked against.
pub struct Verifier<'a> {
    pub hs_secret: Option<&'a [u8]>,
    pub jwks: Option<&'a JwkSet>,
    pub issuer: &'a str,
    pub audience: &'a str,
}

impl Verifier<'_> {
    /// Verifies `token` at `now` (seconds since the epoch).
    pub fn verify(&self, token: &str, now: u64) -> Result<AuthUser, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        super::crypto::install();
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let key = match header.alg {
            Algorithm::HS256 => DecodingKey::from_secret(self.hs_secret.ok_or(VerifyError::NoSecret)?),
            Algorithm::ES256 | Algorithm::RS256 => self.asymmetric_key(header.alg, header.kid.as_deref())?,
            other => return Err(VerifyError::AlgorithmNotAllowed(format!("{other:?}"))),
        };

        // Signature, `aud` and `iss` by the library; time claims below with
        // an explicit clock so they are testable.
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.set_audience(&[self.audience]);
        validation.set_issuer(&[self.issuer]);
        let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidAudience => VerifyError::WrongAudience,
                ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                ErrorKind::MissingRequiredClaim(c) if c == "sub" => VerifyError::BadSubject,
                ErrorKind::MissingRequiredClaim(c) if c == "aud" => VerifyError::WrongAudience,
                ErrorKind::MissingRequiredClaim(c) if c == "iss" => VerifyError::WrongIssuer,
                ErrorKind::MissingRequiredClaim(c) if c == "exp" => VerifyError::Expired,
                other => VerifyError::BadSignature(format!("{other:?}")),
            }
        })?;
        let claims = data.claims;

        let exp = claims.exp.ok_or(VerifyError::Expired)?;
        if exp + (LEEWAY_SECS as f64) <= now as f64 {
            return Err(VerifyError::Expired);
        }
        if let Some(nbf) = claims.nbf {
            if nbf > (now + LEEWAY_SECS) as f64 {
                return Err(VerifyError::NotYetValid);
            }
        }
        let user_id = claims
            .sub
            .as_deref()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(VerifyError::BadSubject)?;
        match claims.role.as_deref() {
            Some("authenticated") => {}
            other => return Err(VerifyError::WrongRole(other.unwrap_or("<none>").to_string())),
        }
        Ok(AuthUser {
            user_id,
            email: claims.email,
            token: token.to_string(),
        })
    }

    /// The JWKS key for `kid`, only if its key type matches `alg`.
    fn asymmetric_key(&self, alg: Algorithm, kid: Option<&str>) -> Result<DecodingKey, VerifyError> {
        let unknown = || VerifyError::UnknownKid(kid.map(str::to_string));
        let set = self.jwks.ok_or_else(unknown)?;
        let jwk = set.find(kid.ok_or_else(unknown)?).ok_or_else(unknown)?;
        let type_matches = match (&jwk.algorithm, alg) {
            (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => format!("{:?}", p.curve) == "P256",
            (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
            _ => false,
        };
        if !type_matches {
            return Err(VerifyError::AlgorithmNotAllowed(format!(
                "{alg:?} with a key of another type"
            )));
        }
        if let Some(declared) = jwk.common.key_algorithm {
            if format!("{declared:?}") != format!("{alg:?}") {
                return Err(VerifyError::AlgorithmNotAllowed(format!(
                    "{alg:?} but key declares {declared:?}"
                )));
            }
        }
        DecodingKey::from_jwk(jwk).map_err(|e| VerifyError::BadSignature(format!("unusable key: {e}")))
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
