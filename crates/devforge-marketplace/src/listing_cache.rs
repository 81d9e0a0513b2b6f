//! Recently answered public listing pages, so a popular listing is served from memory.
//!
//! Every IDE opens the marketplace on the same few pages (the default listing, a
//! category, a popular search), and ranking a broad full-text match costs the database far
//! more than copying an answer it gave a moment ago. A page is kept for a short time
//! (`ttl`) and never past a change made through this service:
//!
//! - every catalog change moves a *generation* and drops the kept pages;
//! - a search remembers the generation it started under, and its answer is stored only if
//!   no change came in the meantime, so a search that raced a change cannot put the old
//!   answer back after the change dropped it.
//!
//! When a page expires, the first request for it reads it again while the requests that
//! arrive meanwhile are still answered with the expired page (for at most another `ttl`):
//! otherwise every client asking for a popular listing at that moment would send the
//! same query to the database at once, and wait for all of them.
//!
//! Changes made by other server instances, and download counts (which change too often to
//! drop pages for), show within twice `ttl`. With a `ttl` of zero nothing is kept.

use crate::extension::Extension;
use crate::ports::ExtensionSearch;
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{Page, PageRequest};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What identifies one listing page.
pub type ListingKey = (ExtensionSearch, PageRequest);

/// Kept listing pages, shared by every clone of the service (and so by every worker).
#[derive(Debug)]
pub struct ListingCache {
    ttl: Duration,
    /// How many listed extensions the kept pages may hold in all (an empty page counts as
    /// one): the memory bound.
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    pages: HashMap<ListingKey, Kept>,
    /// The weights of the kept pages, summed.
    held: usize,
}

#[derive(Debug)]
struct Kept {
    expires: DateTime<Utc>,
    page: Arc<Page<Extension>>,
    /// A request is reading this page again since it expired.
    refreshing: bool,
}

/// What [`ListingCache::lookup`] found.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    /// The page to answer with.
    Kept(Page<Extension>),
    /// Nothing usable: read the page, then [`ListingCache::put`] it with this generation.
    Read {
        /// The generation the read starts under.
        generation: u64,
    },
}

impl ListingCache {
    /// Keeps pages for `ttl`, holding up to `capacity` listed extensions in all.
    #[must_use]
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    /// Keeps nothing: every listing is read from storage.
    #[must_use]
    pub fn disabled() -> Self {
        Self::new(Duration::zero(), 0)
    }

    fn keeps_pages(&self) -> bool {
        self.ttl > Duration::zero() && self.capacity > 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The page kept for `key` while it is younger than `ttl` at `now`; after that, the
    /// first caller is told to read it again, and callers until that read is put (or for
    /// another `ttl` at most, should it fail) get the expired page.
    #[must_use]
    pub fn lookup(&self, key: &ListingKey, now: DateTime<Utc>) -> Lookup {
        let mut state = self.state();
        let read = Lookup::Read {
            generation: state.generation,
        };
        if !self.keeps_pages() {
            return read;
        }
        let Some(kept) = state.pages.get_mut(key) else {
            return read;
        };
        let answer = Arc::clone(&kept.page);
        if now >= kept.expires {
            let given_up = now >= kept.expires + self.ttl;
            if !kept.refreshing || given_up {
                kept.refreshing = true;
                return read;
            }
        }
        drop(state);
        Lookup::Kept(Page::clone(&answer))
    }

    /// Keeps `page` for `key`, unless the catalog changed since `generation` was read.
    /// When full, pages past their grace go first, and then all of them (a burst of distinct
    /// listings is served by the database either way; this keeps the bound cheap).
    pub fn put(&self, key: ListingKey, generation: u64, now: DateTime<Utc>, page: Page<Extension>) {
        if !self.keeps_pages() {
            return;
        }
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        let weight = weight(&page);
        if weight > self.capacity {
            return;
        }
        if let Some(replaced) = state.pages.remove(&key) {
            state.held -= weight_of(&replaced);
        }
        if state.held + weight > self.capacity {
            let ttl = self.ttl;
            state.pages.retain(|_, kept| now < kept.expires + ttl);
            state.held = state.pages.values().map(weight_of).sum();
            if state.held + weight > self.capacity {
                state.pages.clear();
                state.held = 0;
            }
        }
        let kept = Kept {
            expires: now + self.ttl,
            page: Arc::new(page),
            refreshing: false,
        };
        state.held += weight;
        state.pages.insert(key, kept);
    }

    /// Drops every kept page: call after any change to what public listings show.
    pub fn invalidate(&self) {
        let mut state = self.state();
        state.generation = state.generation.wrapping_add(1);
        state.pages.clear();
        state.held = 0;
    }
}

fn weight(page: &Page<Extension>) -> usize {
    page.items.len().max(1)
}

fn weight_of(kept: &Kept) -> usize {
    weight(&kept.page)
}

#[cfg(test)]
mod tests {
    use super::{ListingCache, ListingKey, Lookup};
    use crate::ports::{ExtSort, ExtensionSearch};
    use chrono::{DateTime, Duration, Utc};
    use devforge_domain::{Page, PageRequest};

    fn key(page: u64) -> ListingKey {
        let request = PageRequest::new(Some(page), None).unwrap_or_else(|e| panic!("{e}"));
        let search = ExtensionSearch {
            sort: ExtSort::Name,
            ..ExtensionSearch::default()
        };
        (search, request)
    }

    fn answer(total: u64) -> Page<crate::Extension> {
        Page {
            items: Vec::new(),
            request: key(1).1,
            total,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    /// The total of the kept page, or `None` when the caller is told to read.
    fn kept_total(cache: &ListingCache, key: &ListingKey, now: DateTime<Utc>) -> Option<u64> {
        match cache.lookup(key, now) {
            Lookup::Kept(page) => Some(page.total),
            Lookup::Read { .. } => None,
        }
    }

    /// Reads on behalf of a caller told to: puts `answer(total)` under its generation.
    fn read_and_put(cache: &ListingCache, key: ListingKey, now: DateTime<Utc>, total: u64) {
        match cache.lookup(&key, now) {
            Lookup::Read { generation } => cache.put(key, generation, now, answer(total)),
            Lookup::Kept(page) => panic!("expected to be told to read, got {page:?}"),
        }
    }

    #[test]
    fn a_page_is_served_until_it_expires() {
        let cache = ListingCache::new(Duration::seconds(5), 10);
        read_and_put(&cache, key(1), at(0), 7);
        assert_eq!(kept_total(&cache, &key(1), at(4)), Some(7));
        assert_eq!(
            kept_total(&cache, &key(2), at(4)),
            None,
            "another page is another key"
        );
    }

    #[test]
    fn an_expired_page_is_read_again_by_one_caller_while_the_others_get_it() {
        let cache = ListingCache::new(Duration::seconds(5), 10);
        read_and_put(&cache, key(1), at(0), 1);
        let Lookup::Read { generation } = cache.lookup(&key(1), at(5)) else {
            panic!("the first caller after expiry reads");
        };
        assert_eq!(
            kept_total(&cache, &key(1), at(6)),
            Some(1),
            "others meanwhile: the expired page"
        );
        cache.put(key(1), generation, at(6), answer(2));
        assert_eq!(
            kept_total(&cache, &key(1), at(7)),
            Some(2),
            "then the new one"
        );
    }

    #[test]
    fn a_read_that_never_comes_back_is_retried_after_another_ttl() {
        let cache = ListingCache::new(Duration::seconds(5), 10);
        read_and_put(&cache, key(1), at(0), 1);
        assert_eq!(
            kept_total(&cache, &key(1), at(5)),
            None,
            "a read starts, then fails"
        );
        assert_eq!(kept_total(&cache, &key(1), at(9)), Some(1));
        assert_eq!(
            kept_total(&cache, &key(1), at(10)),
            None,
            "too old to serve: read again"
        );
    }

    #[test]
    fn a_change_drops_pages_and_refuses_answers_read_before_it() {
        let cache = ListingCache::new(Duration::seconds(5), 10);
        read_and_put(&cache, key(1), at(0), 1);
        let Lookup::Read { generation } = cache.lookup(&key(2), at(0)) else {
            panic!("nothing kept for key 2");
        };
        cache.invalidate();
        assert_eq!(
            kept_total(&cache, &key(1), at(0)),
            None,
            "dropped by the change"
        );
        cache.put(key(2), generation, at(0), answer(1));
        assert_eq!(
            kept_total(&cache, &key(2), at(0)),
            None,
            "a stale answer is not kept"
        );
        read_and_put(&cache, key(2), at(0), 2);
        assert_eq!(kept_total(&cache, &key(2), at(0)), Some(2));
    }

    #[test]
    fn a_full_cache_makes_room_old_pages_first() {
        let cache = ListingCache::new(Duration::seconds(5), 2);
        read_and_put(&cache, key(1), at(0), 1);
        read_and_put(&cache, key(2), at(8), 2);
        read_and_put(&cache, key(3), at(11), 3);
        assert_eq!(
            kept_total(&cache, &key(2), at(11)),
            Some(2),
            "key 1 went: past its grace"
        );
        assert_eq!(kept_total(&cache, &key(3), at(11)), Some(3));
        read_and_put(&cache, key(4), at(11), 4);
        assert_eq!(
            kept_total(&cache, &key(2), at(11)),
            None,
            "full of usable pages: all go"
        );
        assert_eq!(kept_total(&cache, &key(4), at(11)), Some(4));
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = ListingCache::disabled();
        read_and_put(&cache, key(1), at(0), 1);
        assert_eq!(kept_total(&cache, &key(1), at(0)), None);
    }
}
