//! The listing index: a copy of the public catalogue in memory that answers listings and
//! searches without the database, which stays the source of truth.
//!
//! The marketplace owns this port; an adapter (the server uses a full-text engine) fills
//! it. The copy is fed from two directions:
//! - the service, after every change it commits (an edit, a review of a version, a yank, a
//!   rating, a download), reads the extension back and hands it over with
//!   [`ListingIndex::apply`], so a change shows in this process's next listing;
//! - a follower adapter loads the whole catalogue at start ([`ListingIndex::load`]) and,
//!   where several processes share a database, applies what the others changed and
//!   vouches for how current the copy is ([`ListingIndex::confirm`]).
//!
//! An index that cannot prove it is current (still loading, its feed lost, a change it
//! could not read back) answers `None`, and the service reads the database instead. One
//! whose feed is alive but late (its proof of freshness overdue, as when the database's
//! processes wait for a CPU) is waited for, briefly, before that: sending every listing to
//! the database at such a moment deepens the stall it comes from
//! ([`ListingIndex::wait_current`]).

use crate::extension::{ExtCategory, Extension, ExtensionId, Tag};
use crate::listing_cache::ListingCache;
use crate::ports::ExtensionSearch;
use devforge_domain::{Page, PageRequest};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A wait for the index to be current again: resolves to whether it is.
pub type CurrentWait<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// How many matches per category, and the most frequent tags among the matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Every category with at least one match, most matches first (then by name).
    pub categories: Vec<(ExtCategory, u64)>,
    /// The most frequent tags among the matches, most frequent first (then by name).
    pub tags: Vec<(Tag, u64)>,
}

/// How many tags [`Facets::tags`] lists at most.
pub const TOP_TAGS: usize = 10;

/// One page of a public listing, with its facet counts where they are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// The page.
    pub page: Page<Extension>,
    /// Counts over every match (not just the page); `None` when the listing was read from
    /// the database, which does not count them.
    pub facets: Option<Facets>,
}

/// An extension as read back after a change: `current` is `None` when it no longer
/// exists. `read_started` is when the read began, so of two reads of one extension the
/// later one wins, whatever order they arrive in.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingUpdate {
    /// Which extension.
    pub id: ExtensionId,
    /// Its stored state (public or not), or `None`.
    pub current: Option<Extension>,
    /// When the read that produced `current` began.
    pub read_started: Instant,
}

/// What the listing index says of itself, for readiness and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    /// The first load has not finished: listings are read from the database.
    Building,
    /// Loaded and provably current: listings are answered from memory.
    Current,
    /// Loaded, but not provably current (feed lost or late, a change not read back):
    /// listings are read from the database until it catches up.
    Behind,
}

/// An in-memory copy of the public catalogue that answers listings. Every method is
/// synchronous and cheap enough to call on a request path.
pub trait ListingIndex: Send + Sync + std::fmt::Debug + 'static {
    /// Answers a public listing, or `None` when the index cannot prove it is current.
    fn search(&self, search: &ExtensionSearch, page: PageRequest) -> Option<Listing>;

    /// Takes an extension's stored state, read after a change. A non-public or missing
    /// extension leaves the listings; an update older than the one held is ignored.
    fn apply(&self, updates: Vec<ListingUpdate>);

    /// A change to `id` was committed but could not be read back: the index answers
    /// nothing until an update of `id` arrives.
    fn lost(&self, id: ExtensionId);

    /// The extensions whose changes could not be read back, for a follower to retry.
    fn lost_ids(&self) -> Vec<ExtensionId>;

    /// Replaces the whole copy with `public`, every public extension, read by a scan that
    /// began at `read_started`.
    fn load(&self, public: Vec<Extension>, read_started: Instant);

    /// Vouches for the copy: `Some(t)` means every change committed before `t` has been
    /// applied (answers stay allowed for a short while after `t`); `None` means the copy
    /// needs no such proof (this process is the only writer), once loaded.
    fn confirm(&self, as_of: Option<Instant>);

    /// Withdraws the proof: the feed that brought other processes' changes was lost.
    fn suspect(&self);

    /// Waits, at most `within`, for an index whose feed is alive but whose proof is overdue
    /// to be proven again; resolves to whether it can answer. Resolves at once, to whether
    /// it can answer, when waiting cannot help: not loaded yet, a change not read back, no
    /// feed (lost, or never heard). A wait ends early when the feed is lost.
    fn wait_current(&self, within: Duration) -> CurrentWait<'_>;

    /// Where the index stands.
    fn state(&self) -> IndexState;
}

/// A listing index that also drops the kept listing pages ([`ListingCache`]) whenever it
/// takes a change, so that a page read from the database while the index could not answer
/// never outlives a change another process made: it is dropped as soon as the follower
/// hands the index that change, not when the page expires.
#[derive(Debug)]
pub struct ChangesDropCache {
    index: std::sync::Arc<dyn ListingIndex>,
    cache: std::sync::Arc<ListingCache>,
}

impl ChangesDropCache {
    /// `index`, dropping `cache`'s pages on every change it takes.
    #[must_use]
    pub fn new(
        index: std::sync::Arc<dyn ListingIndex>,
        cache: std::sync::Arc<ListingCache>,
    ) -> Self {
        Self { index, cache }
    }
}

impl ListingIndex for ChangesDropCache {
    fn search(&self, search: &ExtensionSearch, page: PageRequest) -> Option<Listing> {
        self.index.search(search, page)
    }

    fn apply(&self, updates: Vec<ListingUpdate>) {
        self.index.apply(updates);
        self.cache.invalidate();
    }

    fn lost(&self, id: ExtensionId) {
        self.index.lost(id);
        self.cache.invalidate();
    }

    fn lost_ids(&self) -> Vec<ExtensionId> {
        self.index.lost_ids()
    }

    fn load(&self, public: Vec<Extension>, read_started: Instant) {
        self.index.load(public, read_started);
        self.cache.invalidate();
    }

    fn confirm(&self, as_of: Option<Instant>) {
        self.index.confirm(as_of);
    }

    fn suspect(&self) {
        self.index.suspect();
    }

    fn wait_current(&self, within: Duration) -> CurrentWait<'_> {
        self.index.wait_current(within)
    }

    fn state(&self) -> IndexState {
        self.index.state()
    }
}
