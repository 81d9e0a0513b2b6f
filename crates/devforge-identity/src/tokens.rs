//! Access tokens (short-lived JWTs) and refresh tokens (opaque, stored only as a hash).
//!
//! The two are different kinds of thing on purpose: an access token is a signed JWT that
//! says `typ: access`; a refresh token is 256 random bits with no structure, so neither can
//! stand in for the other.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{Role, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// Token issuer (`iss`) written into and required from every access token.
pub const ISSUER: &str = "devforge";
/// Audience (`aud`) written into and required from every access token.
pub const AUDIENCE: &str = "devforge-api";
const ACCESS_TOKEN_TYPE: &str = "access";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessTokenClaims {
    /// The user id.
    pub sub: String,
    /// The role at issue time (the API uses the stored role, which may have changed since).
    pub role: Role,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Always `access`.
    pub typ: String,
}

/// Signs and verifies access tokens with HMAC-SHA256 under the configured secret.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Tokens signed with `secret` that live for `ttl`.
    ///
    /// # Errors
    /// When the secret is shorter than 32 bytes (too weak for HS256) or rejected by the
    /// JWT library.
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err("the JWT secret must be at least 32 bytes".into());
        }
        let encoding = EncodingKey::from_secret(secret).map_err(|e| e.to_string())?;
        let decoding = DecodingKey::from_secret(secret).map_err(|e| e.to_string())?;
        // The algorithm is pinned: a token whose header names another (or `none`) fails.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the service's clock below, so tests can move time.
        validation.validate_exp = false;
        Ok(Self {
            encoding,
            decoding,
            validation,
            ttl,
        })
    }

    /// How long a new access token lives.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed token for `user` with `role`, issued at `now`.
    ///
    /// # Errors
    /// When signing fails (a broken key).
    pub fn issue(&self, user: UserId, role: Role, now: DateTime<Utc>) -> Result<String, String> {
        let claims = AccessTokenClaims {
            sub: user.to_string(),
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            typ: ACCESS_TOKEN_TYPE.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    /// The claims of a token signed by us, of type `access`, not expired at `now`.
    #[must_use]
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<(UserId, AccessTokenClaims)> {
        let data =
            jsonwebtoken::decode::<AccessTokenClaims>(token, &self.decoding, &self.validation)
                .ok()?;
        let claims = data.claims;
        if claims.typ != ACCESS_TOKEN_TYPE || claims.exp <= now.timestamp() {
            return None;
        }
        let user = claims.sub.parse::<UserId>().ok()?;
        Some((user, claims))
    }
}

/// An opaque refresh token: 256 bits from a CSPRNG seeded by the OS, base64url. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

impl RefreshToken {
    /// A new random token.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token presented by a client.
    #[must_use]
    pub fn from_client(token: String) -> Self {
        Self(token)
    }

    /// The token text, to hand to the client once.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the token is stored and looked up.
    #[must_use]
    pub fn hash(&self) -> RefreshTokenHash {
        RefreshTokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

/// SHA-256 of a refresh token, hex. A plain hash suffices: the token has 256 bits of
/// entropy, so there is nothing to brute-force.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshTokenHash {
    /// Wraps a hash read from storage.
    #[must_use]
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The hex text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{AccessTokens, RefreshToken};
    use chrono::{Duration, Utc};
    use devforge_domain::{Role, UserId};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> AccessTokens {
        AccessTokens::new(SECRET, Duration::minutes(15)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let tokens = tokens();
        let user = UserId::generate();
        let now = Utc::now();
        let token = tokens
            .issue(user, Role::Support, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let verified = tokens.verify(&token, now + Duration::minutes(14));
        assert_eq!(
            verified.map(|(id, claims)| (id, claims.role)),
            Some((user, Role::Support))
        );
        assert!(tokens.verify(&token, now + Duration::minutes(15)).is_none());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let now = Utc::now();
        let other = AccessTokens::new(b"another-secret-another-secret-xx", Duration::minutes(15))
            .unwrap_or_else(|e| panic!("{e}"));
        let token = other
            .issue(UserId::generate(), Role::Admin, now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(tokens().verify(&token, now).is_none());
    }

    #[test]
    fn a_token_with_another_algorithm_or_audience_is_rejected() {
        let now = Utc::now();
        let claims = serde_json::json!({
            "sub": UserId::generate().to_string(), "role": "admin", "iss": "devforge",
            "aud": "devforge-api", "iat": now.timestamp(), "exp": now.timestamp() + 600,
            "typ": "access",
        });
        let key = EncodingKey::from_secret(SECRET).unwrap_or_else(|e| panic!("{e}"));
        let hs512 = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &key)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(tokens().verify(&hs512, now).is_none());

        let mut wrong_audience = claims.clone();
        wrong_audience["aud"] = "someone-else".into();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wrong_audience, &key)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(tokens().verify(&token, now).is_none());

        let mut refresh_typed = claims;
        refresh_typed["typ"] = "refresh".into();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &refresh_typed, &key)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(tokens().verify(&token, now).is_none());
    }

    #[test]
    fn an_unsigned_token_is_rejected() {
        let now = Utc::now().timestamp();
        let header = r#"{"alg":"none","typ":"JWT"}"#;
        let body = format!(
            r#"{{"sub":"{}","role":"admin","iss":"devforge","aud":"devforge-api","iat":{now},"exp":{},"typ":"access"}}"#,
            UserId::generate(),
            now + 600
        );
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!("{}.{}.", b64.encode(header), b64.encode(body));
        assert!(tokens().verify(&token, Utc::now()).is_none());
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(AccessTokens::new(b"short", Duration::minutes(1)).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_only_as_a_hash() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_ne!(a, b);
        assert!(a.expose().len() >= 43, "256 bits in base64url");
        assert_eq!(
            a.hash(),
            RefreshToken::from_client(a.expose().to_owned()).hash()
        );
        assert_ne!(a.hash().as_str(), a.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
