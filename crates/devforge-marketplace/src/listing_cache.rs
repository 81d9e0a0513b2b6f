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
//! Changes made by other server instances, and download counts (which change too often to
//! drop pages for), show within `ttl`. With a `ttl` of zero nothing is kept.

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

    /// The page kept for `key`, if it is younger than `ttl` at `now`.
    #[must_use]
    pub fn get(&self, key: &ListingKey, now: DateTime<Utc>) -> Option<Page<Extension>> {
        if !self.keeps_pages() {
            return None;
        }
        let page = {
            let state = self.state();
            let kept = state.pages.get(key)?;
            (now < kept.expires).then(|| Arc::clone(&kept.page))?
        };
        Some(Page::clone(&page))
    }

    /// The current generation: pass it to [`Self::put`] with the answer of a search started
    /// now.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Keeps `page` for `key`, unless the catalog changed since `generation` was read.
    /// When full, expired pages go first, and then all of them (a burst of distinct
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
            state.pages.retain(|_, kept| now < kept.expires);
            state.held = state.pages.values().map(weight_of).sum();
            if state.held + weight > self.capacity {
                state.pages.clear();
                state.held = 0;
            }
        }
        let kept = Kept {
            expires: now + self.ttl,
            page: Arc::new(page),
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
    use super::{ListingCache, ListingKey};
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

    fn start() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    #[test]
    fn a_page_is_served_until_it_expires() {
        let cache = ListingCache::new(Duration::seconds(5), 10);
        cache.put(key(1), cache.generation(), start(), answer(7));
        let later = start() + Duration::seconds(4);
        assert_eq!(cache.get(&key(1), later).map(|p| p.total), Some(7));
        assert_eq!(
            cache.get(&key(2), later),
            None,
            "another page is another key"
        );
        assert_eq!(cache.get(&key(1), start() + Duration::seconds(5)), None);
    }

    #[test]
    fn a_change_drops_pages_and_refuses_answers_read_before_it() {
        let cache = ListingCache::new(Duration::seconds(5), 10);
        cache.put(key(1), cache.generation(), start(), answer(1));
        let read_before_change = cache.generation();
        cache.invalidate();
        assert_eq!(cache.get(&key(1), start()), None, "dropped by the change");
        cache.put(key(1), read_before_change, start(), answer(1));
        assert_eq!(
            cache.get(&key(1), start()),
            None,
            "a stale answer is not kept"
        );
        cache.put(key(1), cache.generation(), start(), answer(2));
        assert_eq!(cache.get(&key(1), start()).map(|p| p.total), Some(2));
    }

    #[test]
    fn a_full_cache_makes_room_expired_pages_first() {
        let cache = ListingCache::new(Duration::seconds(5), 2);
        let generation = cache.generation();
        cache.put(key(1), generation, start(), answer(1));
        cache.put(
            key(2),
            generation,
            start() + Duration::seconds(3),
            answer(2),
        );
        let now = start() + Duration::seconds(6);
        cache.put(key(3), generation, now, answer(3));
        assert_eq!(
            cache.get(&key(2), now).map(|p| p.total),
            Some(2),
            "still fresh"
        );
        assert_eq!(cache.get(&key(3), now).map(|p| p.total), Some(3));
        cache.put(key(4), generation, now, answer(4));
        assert_eq!(cache.get(&key(2), now), None, "full of fresh pages: all go");
        assert_eq!(cache.get(&key(4), now).map(|p| p.total), Some(4));
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = ListingCache::disabled();
        cache.put(key(1), cache.generation(), start(), answer(1));
        assert_eq!(cache.get(&key(1), start()), None);
    }
}
