//! The storage the support service needs, as traits it owns.
//!
//! A ticket change (fields, its events, the message that caused it) is one port method,
//! so adapters make it one transaction. Changes are compare-and-set on the ticket's
//! `version`, so two staff members editing at once cannot both win against a stale read.

use crate::article::{
    Article, ArticleHit, ArticleId, ArticlePatch, ArticleStatus, Label, Revision, Slug, Voter,
};
use crate::thread::{Message, NewTicketEvent, TicketEvent};
use crate::ticket::{Category, Priority, Ticket, TicketId, TicketStatus};
use chrono::{DateTime, Utc};
use devforge_domain::SearchQuery;
use devforge_domain::{Page, PageRequest, StoreError, UserId};
use std::future::Future;
use std::time::Duration;

/// A ticket about to be stored (its number and auto-assignee are decided by storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The ticket, with `number` 0 and no assignee.
    pub ticket: Ticket,
    /// The first message.
    pub message: Message,
    /// Give it to the support member with the fewest active tickets.
    pub auto_assign: bool,
}

/// Whose tickets a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssigneeFilter {
    /// Everyone's.
    #[default]
    Any,
    /// Unassigned ones.
    Nobody,
    /// This staff member's.
    User(UserId),
}

/// How a ticket list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Most recently opened first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Most urgent first, then oldest.
    Priority,
    /// Most recent public activity first.
    LastActivity,
}

/// Filters for ticket lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only this requester's (customers always get their own).
    pub requester: Option<UserId>,
    /// Only in this (effective) status.
    pub status: Option<TicketStatus>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only these assignees'.
    pub assignee: AssigneeFilter,
    /// Full text over the subject and messages.
    pub query: Option<SearchQuery>,
    /// Whether internal notes are searched (staff only).
    pub search_internal: bool,
    /// Resolved tickets resolved at or before this instant count as closed.
    pub reopen_cutoff: DateTime<Utc>,
}

/// A moment in a ticket's life and how long after its opening it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestone {
    /// When.
    pub at: DateTime<Utc>,
    /// Time since the ticket was opened.
    pub after: Duration,
}

/// Changes to a ticket; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketUpdate {
    /// New status.
    pub status: Option<TicketStatus>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New category.
    pub category: Option<Category>,
    /// New assignee (`Some(None)` unassigns), and when.
    pub assignee: Option<(Option<UserId>, DateTime<Utc>)>,
    /// Public activity at this time.
    pub activity_at: Option<DateTime<Utc>>,
    /// The first public staff reply (ignored when one was already recorded).
    pub first_response: Option<Milestone>,
    /// Resolved (`Some(None)` clears it on reopening).
    pub resolution: Option<Option<Milestone>>,
    /// Closed at this time.
    pub closed_at: Option<DateTime<Utc>>,
}

/// What must still hold for a change to apply: the facts the decision was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Nothing about the ticket changed (its version): for edits of its fields.
    Version(i64),
    /// It still has this status: for messages, which only depend on the status, so
    /// parallel replies do not invalidate each other.
    Status(TicketStatus),
}

/// What a compare-and-set change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Applied; the ticket as it now is.
    Updated(Box<Ticket>),
    /// Someone changed the ticket since it was read; nothing was written.
    Stale,
    /// No such ticket.
    NotFound,
}

/// The support figures of the admin dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketStats {
    /// Active tickets (open, in progress, waiting) by status.
    pub active_by_status: Vec<(TicketStatus, u64)>,
    /// Active tickets by priority.
    pub active_by_priority: Vec<(Priority, u64)>,
    /// Active tickets nobody is assigned to.
    pub unassigned: u64,
    /// Median time from opening to the first public staff reply.
    pub median_first_response: Option<Duration>,
    /// Median time from opening to the latest resolution, over resolved and closed tickets.
    pub median_resolution: Option<Duration>,
}

/// Tickets and their threads.
pub trait TicketRepository: Send + Sync + 'static {
    /// Stores a ticket with the next number, its first message and its `created` event;
    /// with `auto_assign`, also its assignee (the enabled support member with the fewest
    /// active tickets, the one assigned to longest ago among equals) and that event.
    /// Numbering and assignment are serialized, so parallel creations stay fair.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing is stored then.
    fn create_ticket(
        &self,
        new: NewTicket,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// The ticket with this id, with its version for [`Self::update_ticket`].
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_ticket(
        &self,
        id: TicketId,
    ) -> impl Future<Output = Result<Option<(Ticket, i64)>, StoreError>> + Send;

    /// Tickets matching `filter`, in `sort` order.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_tickets(
        &self,
        filter: TicketFilter,
        sort: TicketSort,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Ticket>, StoreError>> + Send;

    /// Applies `update`, stores `message` (if any) and `events`, in one transaction, only
    /// if `expected` still holds. A change of status, priority, category or assignee bumps
    /// the ticket's version.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing changes then.
    fn update_ticket(
        &self,
        id: TicketId,
        expected: Expected,
        update: TicketUpdate,
        message: Option<Message>,
        events: Vec<NewTicketEvent>,
    ) -> impl Future<Output = Result<UpdateOutcome, StoreError>> + Send;

    /// A ticket's messages, oldest first; internal notes only when asked.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_messages(
        &self,
        id: TicketId,
        include_internal: bool,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Message>, StoreError>> + Send;

    /// A ticket's events, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_ticket_events(
        &self,
        id: TicketId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<TicketEvent>, StoreError>> + Send;

    /// Whether `user` is an enabled support or admin account.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn is_staff(&self, user: UserId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The dashboard figures.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn ticket_stats(&self) -> impl Future<Output = Result<TicketStats, StoreError>> + Send;
}

/// Filters for article lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArticleFilter {
    /// Only in this status (`None`: any, for staff).
    pub status: Option<ArticleStatus>,
    /// Only this category.
    pub category: Option<Label>,
    /// Only with this tag.
    pub tag: Option<Label>,
}

impl ArticleFilter {
    /// Whether `article` passes the filter.
    #[must_use]
    pub fn admits(&self, article: &Article) -> bool {
        self.status.is_none_or(|status| article.status == status)
            && self
                .category
                .as_ref()
                .is_none_or(|category| &article.category == category)
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| article.tags.contains(tag))
    }
}

/// The knowledge base.
pub trait KnowledgeBaseRepository: Send + Sync + 'static {
    /// Stores a new article with its first revision.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] when the slug is taken.
    fn insert_article(
        &self,
        article: Article,
    ) -> impl Future<Output = Result<Article, StoreError>> + Send;

    /// The article with this slug.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_article(
        &self,
        slug: &Slug,
    ) -> impl Future<Output = Result<Option<Article>, StoreError>> + Send;

    /// Counts a view of the article (only if published, with `published_only`) and
    /// returns it.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn record_view(
        &self,
        slug: &Slug,
        published_only: bool,
    ) -> impl Future<Output = Result<Option<Article>, StoreError>> + Send;

    /// Applies `patch`; a new text becomes the next revision, written by `author`.
    /// `Ok(None)` when no article has this slug.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing changes then.
    fn update_article(
        &self,
        slug: &Slug,
        patch: ArticlePatch,
        author: UserId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Article>, StoreError>> + Send;

    /// Articles matching `filter`, the most recently published first (then the most
    /// recently created, then by slug).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_articles(
        &self,
        filter: ArticleFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<ArticleHit>, StoreError>> + Send;

    /// The search generation: advanced by every committed change to an article's text,
    /// status, category or tags (see [`crate::search_index`]).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn search_generation(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every article, whatever its status, to build a search index from.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn all_articles(&self) -> impl Future<Output = Result<Vec<Article>, StoreError>> + Send;

    /// The articles with these ids, in any order; ids of no article are left out.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn articles_by_id(
        &self,
        ids: &[ArticleId],
    ) -> impl Future<Output = Result<Vec<Article>, StoreError>> + Send;

    /// An article's revisions, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_revisions(
        &self,
        article: ArticleId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Revision>, StoreError>> + Send;

    /// One revision.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_revision(
        &self,
        article: ArticleId,
        number: u32,
    ) -> impl Future<Output = Result<Option<Revision>, StoreError>> + Send;

    /// Records a vote: a voter's first vote counts, a changed vote moves the count, a
    /// repeated one changes nothing. Returns the article with its new counts.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn record_feedback(
        &self,
        article: ArticleId,
        voter: Voter,
        helpful: bool,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Article>, StoreError>> + Send;
}

/// Everything the support service stores.
pub trait SupportStore: TicketRepository + KnowledgeBaseRepository {}

impl<T> SupportStore for T where T: TicketRepository + KnowledgeBaseRepository {}
