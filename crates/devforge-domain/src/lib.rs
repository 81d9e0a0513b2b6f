//! The vocabulary every Dev Forge service shares.
//!
//! This crate holds value objects whose invariants are enforced by their constructors
//! ([`Email`], [`Money`], [`Role`]), the typed ids, the paging types every list uses, the
//! audit trail's model, and the ports that are not owned by a single service ([`Clock`],
//! [`AuditLog`], [`Background`]). It depends on no web framework and no database driver,
//! so other Rust services can link it alone.

#![warn(missing_docs)]

pub mod audit;
pub mod background;
pub mod clock;
pub mod email;
pub mod error;
pub mod ids;
pub mod money;
pub mod page;
pub mod role;
pub mod search;

pub use audit::{AuditEntry, AuditLog, NewAuditEntry};
pub use background::{Background, BackgroundTask};
pub use clock::{Clock, ManualClock, SystemClock};
pub use email::Email;
pub use error::{InvalidValue, StoreError};
pub use ids::UserId;
pub use money::{Currency, Money};
pub use page::{Page, PageRequest};
pub use role::Role;
pub use search::{SearchQuery, Snippet};
