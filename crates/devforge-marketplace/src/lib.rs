//! The extension marketplace: extensions and their versions (immutable packages reviewed
//! by admins before they are public), ranked search, ratings and reviews, and download
//! counts. Paid extensions need a license entitlement, asked of licensing through a port.
//!
//! Storage, package bytes and the entitlement check are ports ([`ports`]); this crate
//! knows no web framework and no database.

#![warn(missing_docs)]

pub mod error;
pub mod extension;
pub mod index;
pub mod listing_cache;
pub mod name;
pub mod ports;
pub mod review;
pub mod service;
pub mod version;

pub use error::MarketError;
pub use extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
pub use index::{ChangesDropCache, Facets, IndexState, Listing, ListingIndex, ListingUpdate};
pub use listing_cache::ListingCache;
pub use name::ExtensionName;
pub use ports::{ExtSort, MarketStore, PackageStore};
pub use review::{Rating, Review};
pub use service::{
    Caller, Download, ExtensionChanges, IncomingPackage, MarketplaceService, NewExtension,
    NewVersion, UploadLimits,
};
pub use version::{ExtVersion, ReviewState, VersionId};
