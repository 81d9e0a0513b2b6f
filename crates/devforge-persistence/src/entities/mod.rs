//! sea-orm entities: today's schema as Rust types. Private to the adapters' needs; the
//! domain never sees them.

pub mod activations;
pub mod audit_log;
pub mod billing_customers;
pub mod extension_downloads;
pub mod extension_reviews;
pub mod extension_tags;
pub mod extension_versions;
pub mod extensions;
pub mod gateway_events;
pub mod kb_article_tags;
pub mod kb_articles;
pub mod kb_feedback;
pub mod kb_revisions;
pub mod license_changes;
pub mod license_events;
pub mod license_payment_renewals;
pub mod licenses;
pub mod login_attempts;
pub mod payment_refunds;
pub mod payments;
pub mod products;
pub mod sessions;
pub mod ticket_events;
pub mod ticket_messages;
pub mod tickets;
pub mod users;
