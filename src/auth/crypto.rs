//! The signature algorithms behind `jsonwebtoken`, limited to what the
//! worker accepts: HS256 (sign and verify), ES256 on P-256 and RS256
//! (PKCS#1 v1.5 with SHA-256), verify only. The crate's own `rust_crypto`
//! provider brings P-384, Ed25519, RSA-PSS, RSA signing and DER key parsing
//! into the bundle as well; this one is the same RustCrypto code for the
//! three algorithms and nothing else. Any other algorithm is refused with
//! `InvalidAlgorithm` (the verifier's allow-list refuses it first anyway).
//!
//! `install` puts it in place; the verifier and the owner-token minter call
//! it before using the crate. Tests that sign ES256/RS256 tokens call the
//! crate's own signers directly (not through the process-wide provider), so
//! every token is still checked by these verifiers.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The provider the worker runs with.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KEY_UTILS,
};

/// Installs `PROVIDER` for the process (once; later calls only check that
/// no other provider got there first, which would bypass these verifiers).
pub fn install() {
    if let Err(current) = PROVIDER.install_default() {
        debug_assert!(
            std::ptr::eq(current, &PROVIDER),
            "another jsonwebtoken CryptoProvider was installed first"
        );
    }
}

const KEY_UTILS: KeyUtils = KeyUtils {
    rsa_pub_components_from_private_key: |_| Err(ErrorKind::InvalidAlgorithm.into()),
    rsa_pub_components_from_public_key: |_| Err(ErrorKind::InvalidAlgorithm.into()),
    ec_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
    ed_pub_components_from_private_key: |_: &[u8], _: &EllipticCurve| Err(ErrorKind::InvalidAlgorithm.into()),
    compute_digest: |data, hash| match hash {
        ThumbprintHash::SHA256 => Ok(Sha256::digest(data).to_vec()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    },
};

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match algorithm {
        Algorithm::HS256 => Ok(Box::new(Hs256(hmac_key(key.family(), key.as_bytes())?))),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match algorithm {
        Algorithm::HS256 => Ok(Box::new(Hs256(hmac_key(key.family(), key.try_get_as_bytes()?)?))),
        Algorithm::ES256 => {
            if key.family() != AlgorithmFamily::Ec {
                return Err(ErrorKind::InvalidKeyFormat.into());
            }
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key.try_get_as_bytes()?)
                .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
            Ok(Box::new(Es256(key)))
        }
        Algorithm::RS256 => {
            if key.family() != AlgorithmFamily::Rsa {
                return Err(ErrorKind::InvalidKeyFormat.into());
            }
            Ok(Box::new(Rs256(key.clone())))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn hmac_key(family: AlgorithmFamily, secret: &[u8]) -> Result<HmacSha256> {
    if family != AlgorithmFamily::Hmac {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    HmacSha256::new_from_slice(secret).map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))
}

struct Hs256(HmacSha256);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.verify_slice(sig).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

struct Es256(p256::ecdsa::VerifyingKey);

impl Verifier<Vec<u8>> for Es256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let sig = p256::ecdsa::Signature::from_slice(sig).map_err(signature::Error::from_source)?;
        self.0.verify(msg, &sig)
    }
}

impl JwtVerifier for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

/// An RS256 key as JWKS gives it: modulus and exponent. A DER key (which the
/// worker never builds) is refused.
struct Rs256(DecodingKey);

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let DecodingKeyKind::RsaModulusExponent { n, e } = self.0.kind() else {
            return Err(signature::Error::new());
        };
        let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e))
            .map_err(|_| signature::Error::new())?;
        key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_algorithms_are_provided() {
        let secret = DecodingKey::from_secret(b"k");
        for alg in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::ES384,
            Algorithm::PS256,
            Algorithm::EdDSA,
        ] {
            let err = new_verifier(&alg, &secret).err().expect("refused");
            assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm, "{alg:?}");
        }
        assert!(new_verifier(&Algorithm::HS256, &secret).is_ok());
        assert!(new_signer(&Algorithm::HS256, &EncodingKey::from_secret(b"k")).is_ok());
        let err = new_signer(&Algorithm::RS256, &EncodingKey::from_secret(b"k"))
            .err()
            .expect("refused");
        assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm);
    }

    #[test]
    fn key_of_the_wrong_family_is_refused() {
        let secret = DecodingKey::from_secret(b"k");
        for alg in [Algorithm::ES256, Algorithm::RS256] {
            let err = new_verifier(&alg, &secret).err().expect("refused");
            assert_eq!(err.kind(), &ErrorKind::InvalidKeyFormat, "{alg:?}");
        }
        let rsa = DecodingKey::from_rsa_raw_components(&[0xc5; 256], &[1, 0, 1]);
        let err = new_verifier(&Algorithm::HS256, &rsa).err().expect("refused");
        assert_eq!(err.kind(), &ErrorKind::InvalidKeyFormat);
    }

    #[test]
    fn hs256_matches_rfc_4231_case_2() {
        let mac = new_signer(&Algorithm::HS256, &EncodingKey::from_secret(b"Jefe")).unwrap();
        let sig = mac.try_sign(b"what do ya want for nothing?").unwrap();
        let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let v = new_verifier(&Algorithm::HS256, &DecodingKey::from_secret(b"Jefe")).unwrap();
        assert!(v.verify(b"what do ya want for nothing?", &sig).is_ok());
        assert!(v.verify(b"what do ya want for nothing!", &sig).is_err());
    }
}
