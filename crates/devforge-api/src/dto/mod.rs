//! The wire format: request and response bodies. Only this crate knows JSON shapes;
//! services speak domain types, and conversions live beside the DTOs.

pub mod admin;
pub mod articles;
pub mod auth;
pub mod double_option;
pub mod extensions;
pub mod licenses;
pub mod page;
pub mod payments;
pub mod products;
pub mod role;
pub mod tickets;
