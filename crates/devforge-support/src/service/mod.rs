//! The support service: ticket rules in `tickets`, knowledge-base rules in
//! `knowledge_base`, over one store and clock.

mod article_search;
mod knowledge_base;
#[cfg(test)]
mod tests;
mod tickets;

pub use knowledge_base::{ArticleChanges, NewArticle};
pub use tickets::{OpenTicket, TicketChanges, TicketQuery};

use crate::lifecycle::Lifecycle;
use crate::ports::SupportStore;
use crate::search_index::ArticleIndex;
use article_search::ArticleSearch;
use devforge_domain::{Clock, Role, UserId};
use std::sync::Arc;

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
    /// Shared by every copy ([`Self::with_store`]): one index per process.
    search: Arc<ArticleSearch>,
}

impl<S: SupportStore, C: Clock> SupportService<S, C> {
    /// A service over its ports; `articles` searches the knowledge base.
    pub fn new(store: S, clock: C, config: SupportConfig, articles: Arc<dyn ArticleIndex>) -> Self {
        Self {
            store,
            clock,
            config,
            search: Arc::new(ArticleSearch::new(articles)),
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
            search: Arc::clone(&self.search),
        }
    }

    /// The rules in force.
    #[must_use]
    pub fn config(&self) -> SupportConfig {
        self.config
    }
}
