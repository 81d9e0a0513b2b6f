//! Offline certificates: Ed25519-signed JWTs (`alg: EdDSA`) the IDE keeps, so it can run
//! without reaching the server until the certificate expires.
//!
//! The server signs with its current key; every configured key stays published (by `kid`)
//! so certificates signed before a rotation keep verifying. [`verify_certificate`] needs
//! nothing but the public keys and the time: any Rust program can check a certificate.

use crate::activation::Fingerprint;
use crate::license::License;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use rand::RngCore as _;

/// The `iss` of every certificate.
pub const CERTIFICATE_ISSUER: &str = "devforge-licensing";

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateClaims {
    /// Issuer: [`CERTIFICATE_ISSUER`].
    pub iss: String,
    /// The license id.
    pub sub: String,
    /// The product's SKU.
    pub product: String,
    /// What the license entitles to.
    pub entitlements: Vec<String>,
    /// The machine it was issued for, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// Why a certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Not a JWT, a bad signature, another algorithm, or altered claims.
    #[error("the certificate is malformed or its signature does not verify")]
    Invalid,
    /// Signed by a key that is not (or no longer) published.
    #[error("the certificate was signed by an unknown key")]
    UnknownKey,
    /// Past its `exp`.
    #[error("the certificate has expired")]
    Expired,
    /// Issued for another machine.
    #[error("the certificate was issued for another machine")]
    WrongFingerprint,
    /// A signing key in the configuration is unusable.
    #[error("certificate signing key: {0}")]
    Key(String),
}

/// A public verification key, as published in the JWK set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Key id, matched against the certificate header's `kid`.
    pub kid: String,
    /// The raw 32-byte Ed25519 public key, base64url without padding (the JWK `x`).
    pub x: String,
}

/// One signing key: a `kid` and a 32-byte Ed25519 seed. Its `Debug` hides the seed.
#[derive(Clone)]
pub struct SigningKeyPair {
    kid: String,
    seed: [u8; 32],
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeyPair({}, <seed redacted>)", self.kid)
    }
}

impl SigningKeyPair {
    /// A fresh random key named `kid`.
    #[must_use]
    pub fn generate(kid: &str) -> Self {
        let mut seed = [0_u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self {
            kid: kid.to_owned(),
            seed,
        }
    }

    /// Parses the configuration form `kid:<base64url seed>`.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when it is not of that form.
    pub fn parse(text: &str) -> Result<Self, CertificateError> {
        let (kid, seed) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| CertificateError::Key("expected kid:base64url-seed".into()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(seed)
            .map_err(|e| CertificateError::Key(e.to_string()))?;
        let seed = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| CertificateError::Key("the seed must be 32 bytes".into()))?;
        if kid.is_empty()
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(CertificateError::Key(
                "the kid must be letters, digits, - _ .".into(),
            ));
        }
        Ok(Self {
            kid: kid.to_owned(),
            seed,
        })
    }

    /// The configuration form, `kid:<base64url seed>` (a secret).
    #[must_use]
    pub fn encode(&self) -> String {
        format!("{}:{}", self.kid, URL_SAFE_NO_PAD.encode(self.seed))
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        let verifying = SigningKey::from_bytes(&self.seed).verifying_key();
        PublicKey {
            kid: self.kid.clone(),
            x: URL_SAFE_NO_PAD.encode(verifying.to_bytes()),
        }
    }
}

/// Issues certificates with the current key.
///
/// Certificates are encoded here with the parsed key kept in memory: `jsonwebtoken::encode`
/// re-parses a PKCS#8 key on every call, which doubled the cost of each validation on the
/// hot path. The format is plain JWS compact serialisation, and `verify_certificate` (and
/// the tests) check every certificate with `jsonwebtoken`, so both ends stay standard.
#[derive(Clone)]
pub struct CertificateSigner {
    kid: String,
    /// The first bytes of the current public key: certificates kept for reuse are tied to it.
    identity: u64,
    signing: SigningKey,
    /// The base64url JOSE header, the same for every certificate of this key.
    encoded_header: String,
    published: Vec<PublicKey>,
    offline_period: Duration,
}

impl std::fmt::Debug for CertificateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSigner")
            .field("kid", &self.kid)
            .field("published", &self.published)
            .field("offline_period", &self.offline_period)
            .finish_non_exhaustive()
    }
}

impl CertificateSigner {
    /// A signer using the first of `keys`; all of them are published.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when `keys` is empty or a key cannot be encoded.
    pub fn new(
        keys: &[SigningKeyPair],
        offline_period: Duration,
    ) -> Result<Self, CertificateError> {
        let current = keys
            .first()
            .ok_or_else(|| CertificateError::Key("no signing key configured".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(current.kid.clone());
        let header =
            serde_json::to_vec(&header).map_err(|e| CertificateError::Key(e.to_string()))?;
        let signing = SigningKey::from_bytes(&current.seed);
        let public = signing.verifying_key().to_bytes();
        let mut identity = [0_u8; 8];
        identity.copy_from_slice(&public[..8]);
        Ok(Self {
            kid: current.kid.clone(),
            identity: u64::from_le_bytes(identity),
            signing,
            encoded_header: URL_SAFE_NO_PAD.encode(header),
            published: keys.iter().map(SigningKeyPair::public_key).collect(),
            offline_period,
        })
    }

    /// The keys a verifier needs: the current one first.
    #[must_use]
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.published
    }

    /// Which key signs: two signers with the same identity make the same signatures.
    #[must_use]
    pub(crate) fn identity(&self) -> u64 {
        self.identity
    }

    /// A certificate for `license`, valid until the earlier of the end of its grace period
    /// and `now` plus the offline period.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when signing fails.
    pub fn issue(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        now: DateTime<Utc>,
    ) -> Result<String, CertificateError> {
        self.issue_reusable(license, fingerprint, now)
            .map(|(token, _)| token)
    }

    /// As [`Self::issue`], with what [`Self::reassemble`] needs to produce the same
    /// certificate again without signing.
    pub(crate) fn issue_reusable(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        now: DateTime<Utc>,
    ) -> Result<(String, Signature), CertificateError> {
        let offline_until = now + self.offline_period;
        let usable_until = license
            .expires_at
            .map(|expiry| expiry + Duration::days(i64::from(license.grace_days)));
        let exp = usable_until.map_or(offline_until, |until| until.min(offline_until));
        let iat = now.timestamp();
        let exp = exp.timestamp();
        let mut token = self.signing_input(license, fingerprint, iat, exp)?;
        let signature = self.signing.sign(token.as_bytes()).to_bytes();
        append_signature(&mut token, &signature);
        Ok((
            token,
            Signature {
                iat,
                exp,
                bytes: signature,
            },
        ))
    }

    /// The certificate `signature` was made for, written out again: the claims come from
    /// `license` and `fingerprint`, which must say what they said when it was signed (the
    /// caller checks the license's revision), or the result does not verify.
    pub(crate) fn reassemble(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        signature: &Signature,
    ) -> Result<String, CertificateError> {
        let mut token = self.signing_input(license, fingerprint, signature.iat, signature.exp)?;
        append_signature(&mut token, &signature.bytes);
        Ok(token)
    }

    /// `header.claims`, the part of a JWS that is signed.
    fn signing_input(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        iat: i64,
        exp: i64,
    ) -> Result<String, CertificateError> {
        let claims = CertificateClaims {
            iss: CERTIFICATE_ISSUER.into(),
            sub: license.id.to_string(),
            product: license.product.as_str().to_owned(),
            entitlements: license
                .entitlements
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            fingerprint: fingerprint.map(|f| f.as_str().to_owned()),
            iat,
            exp,
        };
        let claims =
            serde_json::to_vec(&claims).map_err(|e| CertificateError::Key(e.to_string()))?;
        Ok(format!(
            "{}.{}",
            self.encoded_header,
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }
}

/// The parts of a signed certificate that cannot be derived from the license: its times and
/// its Ed25519 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Signature {
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The signature over `header.claims`.
    pub bytes: [u8; 64],
}

fn append_signature(token: &mut String, signature: &[u8; 64]) {
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
}

/// Checks a certificate: signed by one of `keys` (chosen by `kid`), issued by us, not
/// expired at `now`, and, when `fingerprint` is given, issued for that machine.
///
/// # Errors
/// The [`CertificateError`] that applies.
pub fn verify_certificate(
    token: &str,
    keys: &[PublicKey],
    now: DateTime<Utc>,
    fingerprint: Option<&str>,
) -> Result<CertificateClaims, CertificateError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| CertificateError::Invalid)?;
    if header.alg != Algorithm::EdDSA {
        return Err(CertificateError::Invalid);
    }
    let kid = header.kid.ok_or(CertificateError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|key| key.kid == kid)
        .ok_or(CertificateError::UnknownKey)?;
    let decoding =
        DecodingKey::from_ed_components(&key.x).map_err(|_| CertificateError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[CERTIFICATE_ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<CertificateClaims>(token, &decoding, &validation)
        .map_err(|_| CertificateError::Invalid)?
        .claims;
    if claims.exp <= now.timestamp() {
        return Err(CertificateError::Expired);
    }
    if fingerprint.is_some_and(|expected| claims.fingerprint.as_deref() != Some(expected)) {
        return Err(CertificateError::WrongFingerprint);
    }
    Ok(claims)
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;
