//! In-memory implementations of the support ports, for the service's unit tests. They keep
//! the SQL adapters' contracts (compare-and-set, one vote per voter, revisions), with one
//! mutex standing in for transactions. [`FakeIndex`] is a plain word match: ranking is the
//! real index's business and is tested there and over HTTP on both databases.

use crate::article::{Article, ArticleHit, ArticleId, ArticlePatch, Revision, Slug, Voter};
use crate::ports::{
    ArticleFilter, AssigneeFilter, Expected, KnowledgeBaseRepository, NewTicket, TicketFilter,
    TicketRepository, TicketSort, TicketStats, TicketUpdate, UpdateOutcome,
};
use crate::search_index::{ArticleIndex, ArticleMatch};
use crate::thread::{EventKind, Message, NewTicketEvent, TicketEvent};
use crate::ticket::{Ticket, TicketId};
use chrono::{DateTime, Utc};
use devforge_domain::{Page, PageRequest, SearchQuery, Snippet, StoreError, UserId};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    staff: Vec<UserId>,
    tickets: Vec<(Ticket, i64)>,
    messages: Vec<Message>,
    events: Vec<(TicketId, TicketEvent)>,
    articles: Vec<Article>,
    revisions: Vec<(ArticleId, Revision)>,
    votes: Vec<(ArticleId, Voter, bool)>,
    search_generation: u64,
    /// Writes to make before the next compare-and-set, as a concurrent writer would.
    interfering_writes: usize,
}

#[derive(Debug, Clone, Default)]
pub struct FakeStore(Arc<Mutex<State>>);

impl FakeStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_staff(&self, user: UserId) {
        self.state().staff.push(user);
    }

    /// Makes the next `n` compare-and-set attempts lose to another writer.
    pub fn interfere(&self, n: usize) {
        self.state().interfering_writes = n;
    }

    pub fn events_of(&self, ticket: TicketId) -> Vec<NewTicketEvent> {
        let state = self.state();
        let own = state.events.iter().filter(|(id, _)| *id == ticket);
        own.map(|(_, e)| e.event.clone()).collect()
    }
}

fn append_event(state: &mut State, ticket: TicketId, event: NewTicketEvent) {
    let id = i64::try_from(state.events.len()).unwrap_or(i64::MAX) + 1;
    state.events.push((ticket, TicketEvent { id, event }));
}

impl TicketRepository for FakeStore {
    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError> {
        let mut state = self.state();
        let mut ticket = new.ticket;
        ticket.number = state.tickets.len() as u64 + 1;
        append_event(
            &mut state,
            ticket.id,
            NewTicketEvent {
                kind: EventKind::Created,
                actor: Some(ticket.requester),
                from: None,
                to: Some(ticket.status.as_str().into()),
                at: ticket.created_at,
            },
        );
        state.messages.push(new.message);
        state.tickets.push((ticket.clone(), 0));
        Ok(ticket)
    }

    async fn find_ticket(&self, id: TicketId) -> Result<Option<(Ticket, i64)>, StoreError> {
        Ok(self
            .state()
            .tickets
            .iter()
            .find(|(t, _)| t.id == id)
            .cloned())
    }

    async fn list_tickets(
        &self,
        filter: TicketFilter,
        _sort: TicketSort,
        page: PageRequest,
    ) -> Result<Page<Ticket>, StoreError> {
        let state = self.state();
        let all = state
            .tickets
            .iter()
            .map(|(t, _)| t)
            .filter(|t| filter.requester.is_none_or(|r| t.requester == r))
            .filter(|t| match filter.assignee {
                AssigneeFilter::Any => true,
                AssigneeFilter::Nobody => t.assignee.is_none(),
                AssigneeFilter::User(user) => t.assignee == Some(user),
            })
            .filter(|t| {
                filter.query.as_ref().is_none_or(|q| {
                    let visible = state
                        .messages
                        .iter()
                        .filter(|m| m.ticket_id == t.id && (filter.search_internal || !m.internal));
                    let mut texts =
                        std::iter::once(t.subject.as_str()).chain(visible.map(|m| m.body.as_str()));
                    texts.any(|text| {
                        let text = text.to_lowercase();
                        !q.is_empty() && q.terms().iter().all(|term| text.contains(term.as_str()))
                    })
                })
            })
            .cloned()
            .collect();
        Ok(Page::slice(all, page))
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        expected: Expected,
        update: TicketUpdate,
        message: Option<Message>,
        events: Vec<NewTicketEvent>,
    ) -> Result<UpdateOutcome, StoreError> {
        let mut state = self.state();
        if state.interfering_writes > 0 {
            state.interfering_writes -= 1;
            if let Some((_, version)) = state.tickets.iter_mut().find(|(t, _)| t.id == id) {
                *version += 1;
            }
        }
        let Some((ticket, version)) = state.tickets.iter_mut().find(|(t, _)| t.id == id) else {
            return Ok(UpdateOutcome::NotFound);
        };
        let holds = match expected {
            Expected::Version(v) => *version == v,
            Expected::Status(s) => ticket.status == s,
        };
        if !holds {
            return Ok(UpdateOutcome::Stale);
        }
        let fields_change = update.status.is_some()
            || update.priority.is_some()
            || update.category.is_some()
            || update.assignee.is_some();
        if fields_change {
            *version += 1;
        }
        if let Some(status) = update.status {
            ticket.status = status;
        }
        if let Some(priority) = update.priority {
            ticket.priority = priority;
        }
        if let Some(category) = update.category {
            ticket.category = category;
        }
        if let Some((assignee, _)) = update.assignee {
            ticket.assignee = assignee;
        }
        if let Some(at) = update.activity_at {
            ticket.last_activity_at = at;
        }
        if let Some(first) = update.first_response {
            ticket.first_response_at.get_or_insert(first.at);
        }
        if let Some(resolution) = update.resolution {
            ticket.resolved_at = resolution.map(|r| r.at);
        }
        if let Some(at) = update.closed_at {
            ticket.closed_at = Some(at);
        }
        let updated = ticket.clone();
        if let Some(message) = message {
            state.messages.push(message);
        }
        for event in events {
            append_event(&mut state, id, event);
        }
        Ok(UpdateOutcome::Updated(Box::new(updated)))
    }

    async fn list_messages(
        &self,
        id: TicketId,
        include_internal: bool,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let all = self
            .state()
            .messages
            .iter()
            .filter(|m| m.ticket_id == id && (include_internal || !m.internal))
            .cloned()
            .collect();
        Ok(Page::slice(all, page))
    }

    async fn list_ticket_events(
        &self,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<TicketEvent>, StoreError> {
        let state = self.state();
        let own = state.events.iter().filter(|(ticket, _)| *ticket == id);
        Ok(Page::slice(own.map(|(_, e)| e.clone()).collect(), page))
    }

    async fn is_staff(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self.state().staff.contains(&user))
    }

    async fn ticket_stats(&self) -> Result<TicketStats, StoreError> {
        Ok(TicketStats::default())
    }
}

impl KnowledgeBaseRepository for FakeStore {
    async fn insert_article(&self, article: Article) -> Result<Article, StoreError> {
        let mut state = self.state();
        if state.articles.iter().any(|a| a.slug == article.slug) {
            return Err(StoreError::Duplicate {
                constraint: "kb_articles_slug".into(),
            });
        }
        let first = Revision {
            number: 1,
            text: article.text.clone(),
            author: article.author,
            created_at: article.created_at,
        };
        state.revisions.push((article.id, first));
        state.articles.push(article.clone());
        state.search_generation += 1;
        Ok(article)
    }

    async fn find_article(&self, slug: &Slug) -> Result<Option<Article>, StoreError> {
        Ok(self
            .state()
            .articles
            .iter()
            .find(|a| &a.slug == slug)
            .cloned())
    }

    async fn record_view(
        &self,
        slug: &Slug,
        published_only: bool,
    ) -> Result<Option<Article>, StoreError> {
        let mut state = self.state();
        let found = state.articles.iter_mut().find(|a| {
            &a.slug == slug && (!published_only || a.status == crate::ArticleStatus::Published)
        });
        Ok(found.map(|article| {
            article.views += 1;
            article.clone()
        }))
    }

    async fn update_article(
        &self,
        slug: &Slug,
        patch: ArticlePatch,
        author: UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<Article>, StoreError> {
        let mut state = self.state();
        let Some(article) = state.articles.iter_mut().find(|a| &a.slug == slug) else {
            return Ok(None);
        };
        article.updated_at = at;
        let mut revision = None;
        if let Some(text) = patch.text {
            article.revision += 1;
            article.text = text.clone();
            revision = Some(Revision {
                number: article.revision,
                text,
                author,
                created_at: at,
            });
        }
        if let Some(category) = patch.category {
            article.category = category;
        }
        if let Some(tags) = patch.tags {
            article.tags = tags;
        }
        if let Some(status) = patch.status {
            article.status = status;
            if status == crate::ArticleStatus::Published {
                article.published_at.get_or_insert(at);
            }
        }
        let updated = article.clone();
        if let Some(revision) = revision {
            state.revisions.push((updated.id, revision));
        }
        state.search_generation += 1;
        Ok(Some(updated))
    }

    async fn list_articles(
        &self,
        filter: ArticleFilter,
        page: PageRequest,
    ) -> Result<Page<ArticleHit>, StoreError> {
        let all = self
            .state()
            .articles
            .iter()
            .filter(|a| filter.admits(a))
            .map(|article| ArticleHit {
                article: article.clone(),
                snippet: None,
            })
            .collect();
        Ok(Page::slice(all, page))
    }

    async fn search_generation(&self) -> Result<u64, StoreError> {
        Ok(self.state().search_generation)
    }

    async fn all_articles(&self) -> Result<Vec<Article>, StoreError> {
        // A real store waits for the database here, and other searches run meanwhile.
        tokio::task::yield_now().await;
        Ok(self.state().articles.clone())
    }

    async fn articles_by_id(&self, ids: &[ArticleId]) -> Result<Vec<Article>, StoreError> {
        let state = self.state();
        Ok(state
            .articles
            .iter()
            .filter(|a| ids.contains(&a.id))
            .cloned()
            .collect())
    }

    async fn list_revisions(
        &self,
        article: ArticleId,
        page: PageRequest,
    ) -> Result<Page<Revision>, StoreError> {
        let mut all: Vec<Revision> = self
            .state()
            .revisions
            .iter()
            .filter(|(id, _)| *id == article)
            .map(|(_, r)| r.clone())
            .collect();
        all.reverse();
        Ok(Page::slice(all, page))
    }

    async fn find_revision(
        &self,
        article: ArticleId,
        number: u32,
    ) -> Result<Option<Revision>, StoreError> {
        Ok(self
            .state()
            .revisions
            .iter()
            .find(|(id, r)| *id == article && r.number == number)
            .map(|(_, r)| r.clone()))
    }

    async fn record_feedback(
        &self,
        article: ArticleId,
        voter: Voter,
        helpful: bool,
        _at: DateTime<Utc>,
    ) -> Result<Option<Article>, StoreError> {
        let mut state = self.state();
        let previous = state
            .votes
            .iter_mut()
            .find(|(id, v, _)| *id == article && *v == voter)
            .map(|(_, _, vote)| std::mem::replace(vote, helpful));
        if previous.is_none() {
            state.votes.push((article, voter, helpful));
        }
        let Some(found) = state.articles.iter_mut().find(|a| a.id == article) else {
            return Ok(None);
        };
        match previous {
            Some(old) if old == helpful => {}
            Some(_) if helpful => {
                found.helpful_yes += 1;
                found.helpful_no -= 1;
            }
            Some(_) => {
                found.helpful_no += 1;
                found.helpful_yes -= 1;
            }
            None if helpful => found.helpful_yes += 1,
            None => found.helpful_no += 1,
        }
        Ok(Some(found.clone()))
    }
}

/// An [`ArticleIndex`] that matches words by containment and keeps the articles' order,
/// counting its rebuilds.
#[derive(Debug, Default)]
pub struct FakeIndex {
    held: Mutex<Option<(u64, Vec<Article>)>>,
    rebuilds: Mutex<u32>,
}

impl FakeIndex {
    /// How many times the index was rebuilt.
    pub fn rebuilds(&self) -> u32 {
        *self.rebuilds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ArticleIndex for FakeIndex {
    fn generation(&self) -> Option<u64> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.as_ref().map(|(generation, _)| *generation)
    }

    fn rebuild(&self, generation: u64, articles: &[Article]) -> Result<(), StoreError> {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((generation, articles.to_vec()));
        *self.rebuilds.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Ok(())
    }

    fn search(
        &self,
        query: &SearchQuery,
        filter: &ArticleFilter,
        page: PageRequest,
    ) -> Result<Page<ArticleMatch>, StoreError> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let articles = held.as_ref().map(|(_, a)| a.as_slice()).unwrap_or_default();
        let matches = articles
            .iter()
            .filter(|a| filter.admits(a))
            .filter(|a| {
                let text = format!("{} {}", a.text.title, a.text.body).to_lowercase();
                query
                    .terms()
                    .iter()
                    .all(|term| text.contains(term.as_str()))
            })
            .map(|a| ArticleMatch {
                id: a.id,
                snippet: Snippet::from_marked(&a.text.body),
            })
            .collect();
        Ok(Page::slice(matches, page))
    }
}
