//! Signed offline certificates kept for reuse, so validation does not sign a new one on
//! every IDE start.
//!
//! Signing is the largest cost of a validation answered from memory. A certificate says
//! nothing that changes between two starts of the same IDE unless the license or its seats
//! changed, so it is kept and handed out again under three conditions:
//!
//! - the license has the **revision** it had when the certificate was signed. Storage bumps
//!   the revision on every change to the license or its seats (status, renewal, activation,
//!   deactivation), so a suspension followed by a reinstatement, or a seat released and
//!   taken again, always leads to a new certificate, even though the license reads the same;
//! - the same **signing key** is current (a key rotation makes every kept one unusable);
//! - less than a **quarter of its lifetime** has passed: every answer carries at least three
//!   quarters of the offline time a newly signed certificate would.
//!
//! Only the times and the 64-byte signature are kept; the claims are written out again from
//! the license. The table has a fixed number of slots, chosen by the operator, each
//! holding the certificate of one (license, machine): a slot is overwritten by whichever
//! pair maps to it last, so memory stays bounded whatever the number of licenses. Zero slots
//! turn reuse off.

use crate::activation::Fingerprint;
use crate::certificate::Signature;
use crate::license::License;
use chrono::{DateTime, Utc};
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::{Mutex, PoisonError};

/// What one slot remembers: which certificate it is, and its signature.
#[derive(Debug, Clone, Copy)]
struct Slot {
    license: u128,
    machine: u64,
    revision: u64,
    signer: u64,
    signature: Signature,
}

/// The table of kept certificates. One per process, shared by every worker.
#[derive(Debug)]
pub struct ReusableCertificates {
    slots: Box<[Mutex<Option<Slot>>]>,
    hasher: std::hash::RandomState,
}

impl ReusableCertificates {
    /// A table of `slots` certificates (about 130 bytes each); 0 keeps none.
    #[must_use]
    pub fn with_slots(slots: usize) -> Self {
        Self {
            slots: (0..slots).map(|_| Mutex::new(None)).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// The signature kept for this license and machine, if it may be handed out again at
    /// `now` by the signer `signer`.
    pub(crate) fn reusable(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        signer: u64,
        now: DateTime<Utc>,
    ) -> Option<Signature> {
        let (index, machine) = self.place(license, fingerprint)?;
        let kept = (*self.slot(index))?;
        let same = kept.license == license.id.as_uuid().as_u128()
            && kept.machine == machine
            && kept.revision == license.revision
            && kept.signer == signer;
        let signature = kept.signature;
        let lifetime = signature.exp - signature.iat;
        let fresh_enough = now.timestamp() < signature.iat + lifetime / 4;
        (same && fresh_enough).then_some(signature)
    }

    /// Keeps `signature`, made by `signer` for this license (at its current revision) and
    /// machine, in place of whatever its slot held.
    pub(crate) fn keep(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        signer: u64,
        signature: Signature,
    ) {
        if let Some((index, machine)) = self.place(license, fingerprint) {
            *self.slot(index) = Some(Slot {
                license: license.id.as_uuid().as_u128(),
                machine,
                revision: license.revision,
                signer,
                signature,
            });
        }
    }

    /// The slot of a (license, machine) and the machine's short name, `None` when there are
    /// no slots.
    fn place(&self, license: &License, fingerprint: Option<&Fingerprint>) -> Option<(usize, u64)> {
        if self.slots.is_empty() {
            return None;
        }
        let machine = fingerprint.map_or(0, |f| {
            let mut hasher = self.hasher.build_hasher();
            hasher.write(f.as_str().as_bytes());
            hasher.finish() | 1
        });
        let mut hasher = self.hasher.build_hasher();
        hasher.write_u128(license.id.as_uuid().as_u128());
        hasher.write_u64(machine);
        let slots = u64::try_from(self.slots.len()).ok()?;
        let spread = usize::try_from(hasher.finish() % slots).ok()?;
        Some((spread, machine))
    }

    fn slot(&self, index: usize) -> std::sync::MutexGuard<'_, Option<Slot>> {
        self.slots[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "certificate_reuse_tests.rs"]
mod tests;
