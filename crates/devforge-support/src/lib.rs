//! Support: tickets whose lifecycle the domain enforces, and (as the service grows)
//! assignment, threaded messages and the knowledge base.
//!
//! The lifecycle lives here, not in handlers or SQL, so every door into a ticket (the API,
//! the requester's reply, an operator's tool) obeys the same table of transitions.

pub mod lifecycle;
pub mod ticket;

pub use lifecycle::{Action, InvalidTransition, Lifecycle, Party};
pub use ticket::{Category, Priority, Subject, TicketStatus};
