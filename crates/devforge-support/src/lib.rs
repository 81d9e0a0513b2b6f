//! Support: tickets whose lifecycle the domain enforces, assignment to staff, threaded
//! messages with internal notes, and a knowledge base with revisions and search.
//!
//! The lifecycle lives here, not in handlers or SQL, so every door into a ticket (the API,
//! the requester's reply, an operator's tool) obeys the same table of transitions. Storage
//! is reached through the traits in [`ports`], article search through the index of
//! [`search_index`]; this crate knows no web framework, no database and no search engine.

#![warn(missing_docs)]

pub mod article;
pub mod error;
#[cfg(test)]
mod fakes;
pub mod lifecycle;
pub mod ports;
pub mod search_index;
pub mod service;
pub mod thread;
pub mod ticket;

pub use article::{Article, ArticleHit, ArticleId, ArticleStatus, Label, Revision, Slug, Voter};
pub use error::SupportError;
pub use lifecycle::{Action, InvalidTransition, Lifecycle, Party};
pub use ports::{AssigneeFilter, SupportStore, TicketSort, TicketStats};
pub use search_index::{ArticleIndex, ArticleMatch};
pub use service::{
    Actor, ArticleChanges, NewArticle, OpenTicket, SupportConfig, SupportService, TicketChanges,
    TicketQuery,
};
pub use thread::{EventKind, Message, MessageId, TicketEvent};
pub use ticket::{Category, MessageBody, Priority, Subject, Ticket, TicketId, TicketStatus};
