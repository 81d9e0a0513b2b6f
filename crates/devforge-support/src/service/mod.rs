//! The support service: ticket rules in `tickets`, knowledge-base rules in
//! `knowledge_base`, over one store and clock.

mod knowledge_base;
#[cfg(test)]
mod tests;
mod tickets;

pub use knowledge_base::{ArticleChanges, NewArticle};
pub use tickets::{OpenTicket, TicketChanges, TicketQuery};

use crate::lifecycle::Lifecycle;
use crate::ports::SupportStore;
use devforge_domain::{Clock, Role, UserId};

/// Tunables of the support rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct SupportConfig {
    /// The lifecycle, with its reopen window.
    pub lifecycle: Lifecycle,
    /// Give new tickets to the least busy support member.
    pub auto_assign: bool,
}

/// Who is asking: an account and its current role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The account.
    pub user_id: UserId,
    /// Its role.
    pub role: Role,
}

impl Actor {
    /// Support and admin accounts are staff.
    #[must_use]
    pub fn is_staff(self) -> bool {
        matches!(self.role, Role::Support | Role::Admin)
    }
}

/// Tickets and the knowledge base.
#[derive(Debug, Clone)]
pub struct SupportService<S, C> {
    store: S,
    clock: C,
    config: SupportConfig,
}

impl<S: SupportStore, C: Clock> SupportService<S, C> {
    /// A service over its ports.
    pub fn new(store: S, clock: C, config: SupportConfig) -> Self {
        Self {
            store,
            clock,
            config,
        }
    }

    /// The same service over another store (one server worker's own pool).
    pub fn with_store<S2: SupportStore>(&self, store: S2) -> SupportService<S2, C>
    where
        C: Clone,
    {
        SupportService {
            store,
            clock: self.clock.clone(),
            config: self.config,
        }
    }

    /// The rules in force.
    #[must_use]
    pub fn config(&self) -> SupportConfig {
        self.config
    }
}
