//! Validation, the request every IDE start makes: from the in-memory read model when it can
//! prove it is current, otherwise one database query.

use super::{LicensingService, ValidationResult};
use crate::activation::Fingerprint;
use crate::cache::CacheAnswer;
use crate::error::LicensingError;
use crate::key::LicenseKey;
use crate::license::ValidationCode;
use crate::ports::{KeyLookup, LicensingStore};
use crate::product::Sku;
use devforge_domain::Clock;

impl<S: LicensingStore, C: Clock> LicensingService<S, C> {
    /// Validates a key, optionally for a machine and a product: from the cache when it can
    /// answer, otherwise one database query.
    /// Unknown keys answer `NOT_FOUND` and nothing else.
    ///
    /// # Errors
    /// [`LicensingError::MalformedKey`] (before any lookup), [`LicensingError::Invalid`]
    /// for a bad fingerprint or SKU, [`LicensingError::Store`].
    pub async fn validate(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        product: Option<&str>,
    ) -> Result<ValidationResult, LicensingError> {
        let key = LicenseKey::parse(key)?;
        let fingerprint = fingerprint.map(Fingerprint::parse).transpose()?;
        let product = product.map(Sku::parse).transpose()?;
        let hash = self.protector.lookup_hash(&key);
        let now = self.clock.now();
        let evaluate = |found: &KeyLookup| {
            found
                .license
                .evaluate(now, product.as_ref(), found.activated_here)
        };
        // The cache may be behind a change made on another instance a moment ago (a new
        // seat, a renewal, a reinstatement): only positive answers come from memory alone,
        // and a refusal is confirmed by the database.
        let cached = match self
            .cache
            .as_ref()
            .map(|c| c.lookup(&hash, fingerprint.as_ref()))
        {
            Some(CacheAnswer::Found(found)) => {
                let code = evaluate(&found);
                code.is_valid().then_some((found, code))
            }
            Some(CacheAnswer::Unknown) | None => None,
        };
        let (found, code) = match cached {
            Some(hit) => hit,
            None => match self.stored_by_key(&hash, fingerprint.as_ref()).await? {
                Some(found) => {
                    let code = evaluate(&found);
                    (found, code)
                }
                None => {
                    return Ok(ValidationResult {
                        code: ValidationCode::NotFound,
                        license: None,
                        certificate: None,
                    });
                }
            },
        };
        let certificate = if code.is_valid() {
            Some(self.certificate(&found.license, fingerprint.as_ref(), now)?)
        } else {
            None
        };
        Ok(ValidationResult {
            code,
            license: Some(found.license),
            certificate,
        })
    }
}
