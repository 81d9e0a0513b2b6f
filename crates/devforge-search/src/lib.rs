//! The in-memory search indexes. [`ArticleSearchIndex`] is the knowledge base's (see
//! `articles`); the rest of this crate is the listing index: the marketplace's public
//! catalogue in memory, answering every public listing (typed text, filters, sorts,
//! facets) without the database.
//!
//! [`ExtensionIndex`] implements the marketplace's [`ListingIndex`] port out of two parts:
//! - `text`: a tantivy index in RAM that finds which extensions match what was typed (every
//!   word, the last one as a prefix while it is being typed, typos forgiven in longer
//!   words) and scores how well;
//! - `catalogue`: the listings themselves by slot, the sort orders kept sorted, and facet
//!   counts, so a page without text is read straight off an order.
//!
//! The database stays the source of truth. The index is loaded from it at start and then
//! told of every change (see the port's docs); it answers only while it can prove it is
//! current: loaded, with no change it failed to read back, and, where other processes
//! write the same database, a proof from the change feed younger than [`MAX_STALENESS`].
//! Otherwise `search` answers `None` and the marketplace reads the database, after waiting
//! a little (`wait_current`) when the only thing missing is a proof that is late.

mod articles;
#[cfg(test)]
mod articles_tests;
mod catalogue;
mod rank;
mod text;

use catalogue::{Catalogue, Order, TextChange};
use devforge_domain::{Page, PageRequest};
use devforge_marketplace::ExtensionId;
use devforge_marketplace::index::{CurrentWait, IndexState, Listing, ListingIndex, ListingUpdate};
use devforge_marketplace::ports::{ExtSort, ExtensionSearch};
use devforge_marketplace::{Extension, Facets};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};
use text::TextIndex;
use tokio::sync::Notify;

pub use articles::{ArticleSearchIndex, TITLE_BOOST};
pub use text::typos_allowed;

/// The oldest a proof from the change feed may be for the index to answer.
pub const MAX_STALENESS: Duration = Duration::from_millis(900);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One loaded copy: replaced whole by the next load.
#[derive(Debug)]
struct Shelf {
    text: TextIndex,
    catalogue: RwLock<Catalogue>,
}

/// Why the index may believe it holds every change.
#[derive(Debug, Clone, Copy)]
enum Proof {
    /// None: the feed was lost, or has not spoken yet.
    Missing,
    /// This process is the only writer, and applies its own changes.
    OnlyWriter,
    /// Every change committed before this instant has been applied.
    AsOf(Instant),
}

/// The public catalogue in memory; one per server process, shared by its workers.
#[derive(Debug)]
pub struct ExtensionIndex {
    shelf: RwLock<Option<Arc<Shelf>>>,
    /// Changes committed but not read back.
    lost: Mutex<HashSet<ExtensionId>>,
    proof: Mutex<Proof>,
    /// Woken whenever the proof changes (confirmed, or withdrawn), for listings waiting on
    /// a late one.
    proof_changed: Notify,
    /// Updates that arrived before the first load, replayed onto it.
    early: Mutex<Vec<ListingUpdate>>,
    /// One update at a time, so the catalogue and the text index change in the same order.
    applying: Mutex<()>,
    /// Whether a listing has been declined since the index was last proven: each fall
    /// behind is logged once, and the recovery once.
    declining: AtomicBool,
}

impl Default for ExtensionIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionIndex {
    /// An empty index that answers nothing until it is loaded.
    #[must_use]
    pub fn new() -> Self {
        Self {
            shelf: RwLock::new(None),
            lost: Mutex::new(HashSet::new()),
            proof: Mutex::new(Proof::Missing),
            proof_changed: Notify::new(),
            early: Mutex::new(Vec::new()),
            applying: Mutex::new(()),
            declining: AtomicBool::new(false),
        }
    }

    fn shelf(&self) -> Option<Arc<Shelf>> {
        self.shelf
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How old the feed's latest proof is, when there is one from the feed.
    fn proof_age(&self) -> Option<Duration> {
        match *lock(&self.proof) {
            Proof::AsOf(at) => Some(at.elapsed()),
            Proof::Missing | Proof::OnlyWriter => None,
        }
    }

    /// Whether a loaded copy may answer: no change it failed to read back, and a proof.
    fn is_proven(&self) -> bool {
        if !lock(&self.lost).is_empty() {
            return false;
        }
        match *lock(&self.proof) {
            Proof::Missing => false,
            Proof::OnlyWriter => true,
            Proof::AsOf(at) => at.elapsed() < MAX_STALENESS,
        }
    }

    /// Whether the only thing keeping a loaded copy from answering is a feed proof that is
    /// overdue: the case a listing may wait out.
    fn is_late(&self) -> bool {
        self.shelf().is_some()
            && lock(&self.lost).is_empty()
            && matches!(*lock(&self.proof), Proof::AsOf(at) if at.elapsed() >= MAX_STALENESS)
    }

    /// Applies `updates` to `shelf`. Returns the ids whose text could not be written.
    fn apply_to(shelf: &Shelf, updates: Vec<ListingUpdate>) -> Result<(), Vec<ExtensionId>> {
        let ids: Vec<ExtensionId> = updates.iter().map(|u| u.id).collect();
        let mut written = Vec::new();
        let mut deleted = Vec::new();
        {
            let mut catalogue = shelf
                .catalogue
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for update in updates {
                let change = match update.current {
                    Some(extension) => catalogue.upsert(extension, update.read_started),
                    None => catalogue.remove(update.id, update.read_started),
                };
                match change {
                    TextChange::None => {}
                    TextChange::Write(slot) => {
                        if let Some(listed) = catalogue.get(slot) {
                            written.push((slot, listed.extension.clone()));
                        }
                    }
                    TextChange::Delete(slot) => deleted.push(slot),
                }
            }
        }
        if written.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        shelf
            .text
            .update(written.iter().map(|(slot, e)| (*slot, e)), deleted)
            .map_err(|err| {
                tracing::error!(error = %err.0, "listing index could not take a change");
                ids
            })
    }

    fn answer(shelf: &Shelf, search: &ExtensionSearch, page: PageRequest) -> Option<Listing> {
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.per_page()).unwrap_or(usize::MAX);
        let (items, total, facets) = match (&search.query, &search.tag) {
            (None, None) => shelf
                .catalogue
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .browse(search.category, search.sort, offset, limit),
            (Some((query, _)), _) if query.is_empty() => (Vec::new(), 0, Facets::default()),
            (query, tag) => {
                let spaced = query.as_ref().map(|(_, raw)| rank::spaced(raw));
                let typed = query
                    .as_ref()
                    .zip(spaced.as_deref())
                    .map(|((q, raw), spaced)| {
                        let typing = raw.chars().last().is_some_and(char::is_alphanumeric);
                        (q, typing, spaced)
                    });
                let matches = match shelf.text.matches(typed, tag.as_ref().map(|t| t.as_str())) {
                    Ok(matches) => matches,
                    Err(err) => {
                        tracing::error!(error = %err.0, "listing index search failed");
                        return None;
                    }
                };
                let order = match (query, search.sort) {
                    (Some(_), ExtSort::Relevance) => Order::Relevance,
                    (_, sort) => Order::Sorted(sort),
                };
                shelf
                    .catalogue
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .page_of(matches, search.category, order, offset, limit)
            }
        };
        Some(Listing {
            page: Page {
                items,
                request: page,
                total,
            },
            facets: Some(facets),
        })
    }
}

impl ListingIndex for ExtensionIndex {
    fn search(&self, search: &ExtensionSearch, page: PageRequest) -> Option<Listing> {
        let shelf = self.shelf()?;
        if !self.is_proven() {
            if !self.declining.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    proof_age_ms = self.proof_age().map(|age| age.as_millis()),
                    unread_changes = lock(&self.lost).len(),
                    "listing index behind its change feed"
                );
            }
            return None;
        }
        Self::answer(&shelf, search, page)
    }

    fn apply(&self, updates: Vec<ListingUpdate>) {
        let _one_at_a_time = lock(&self.applying);
        let ids: Vec<ExtensionId> = updates.iter().map(|u| u.id).collect();
        let Some(shelf) = self.shelf() else {
            lock(&self.early).extend(updates);
            return;
        };
        match Self::apply_to(&shelf, updates) {
            Ok(()) => {
                let mut lost = lock(&self.lost);
                for id in ids {
                    lost.remove(&id);
                }
            }
            Err(failed) => lock(&self.lost).extend(failed),
        }
    }

    fn lost(&self, id: ExtensionId) {
        lock(&self.lost).insert(id);
    }

    fn lost_ids(&self) -> Vec<ExtensionId> {
        lock(&self.lost).iter().copied().collect()
    }

    fn load(&self, public: Vec<Extension>, read_started: Instant) {
        let started = Instant::now();
        let catalogue = Catalogue::new(public, read_started);
        let text = match TextIndex::build(catalogue.all()) {
            Ok(text) => text,
            Err(err) => {
                tracing::error!(error = %err.0, "listing index could not be built");
                return;
            }
        };
        let shelf = Arc::new(Shelf {
            text,
            catalogue: RwLock::new(catalogue),
        });
        let _one_at_a_time = lock(&self.applying);
        let early = std::mem::take(&mut *lock(&self.early));
        if let Err(failed) = Self::apply_to(&shelf, early) {
            lock(&self.lost).extend(failed);
        }
        let listed = shelf
            .catalogue
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .all()
            .count();
        *self.shelf.write().unwrap_or_else(PoisonError::into_inner) = Some(shelf);
        tracing::info!(
            extensions = listed,
            millis = started.elapsed().as_millis(),
            "listing index built"
        );
    }

    fn confirm(&self, as_of: Option<Instant>) {
        {
            let mut proof = lock(&self.proof);
            *proof = match (as_of, *proof) {
                (None, _) => Proof::OnlyWriter,
                (Some(at), Proof::AsOf(held)) if held > at => Proof::AsOf(held),
                (Some(at), _) => Proof::AsOf(at),
            };
        }
        self.proof_changed.notify_waiters();
        if self.is_proven() && self.declining.swap(false, Ordering::Relaxed) {
            tracing::info!("listing index current again");
        }
    }

    fn suspect(&self) {
        *lock(&self.proof) = Proof::Missing;
        self.proof_changed.notify_waiters();
    }

    fn wait_current(&self, within: Duration) -> CurrentWait<'_> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + within;
            loop {
                // Registered before the proof is looked at, so a confirm in between wakes it.
                let changed = self.proof_changed.notified();
                let mut changed = std::pin::pin!(changed);
                changed.as_mut().enable();
                if self.is_proven() {
                    return true;
                }
                if !self.is_late() {
                    return false;
                }
                if tokio::time::timeout_at(deadline, changed).await.is_err() {
                    return self.is_proven();
                }
            }
        })
    }

    fn state(&self) -> IndexState {
        if self.shelf().is_none() {
            IndexState::Building
        } else if self.is_proven() {
            IndexState::Current
        } else {
            IndexState::Behind
        }
    }
}

#[cfg(test)]
mod tests;
