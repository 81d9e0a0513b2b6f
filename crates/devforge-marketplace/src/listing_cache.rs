//! Recently answered public listing pages, so a popular listing is served from memory.
//!
//! Every IDE opens the marketplace on the same few pages (the default listing, a
//! category, a popular search), and ranking a broad full-text match costs the database far
//! more than copying an answer it gave a moment ago. A page is kept for a short time
//! (`ttl`) and never past a change made through this service:
//!
//! - every catalog change moves a *generation* and drops the kept pages;
//! - a read remembers the generation it started under, and its answer is stored only if
//!   no change came in the meantime, so a read that raced a change cannot put the old
//!   answer back after the change dropped it.
//!
//! When a page expires, one read brings it up to date while every request meanwhile is
//! still answered with the expired page (for at most another `ttl`, its grace): otherwise
//! every client asking for a popular listing at that moment would send the same query to
//! the database at once, and wait for all of them. Given a [`Background`] runner, that read
//! is not made on any request's time either: the request that found the page expired is
//! answered with it too, and the read goes on after. Without one, that request reads. A
//! page never read, or past its grace (nobody asked for it meanwhile, or its refresh
//! failed), is read by each request that asks for it until one answer is kept.
//!
//! A page's age counts from when its read started, so it never passes for fresher than
//! it is, and an answer never replaces one read after it (a slow refresh can finish after
//! a later read). A read that outlasts `ttl` keeps a page that has already expired, which
//! the next request has read again.
//!
//! Changes made by other server instances, and download counts (which change too often to
//! drop pages for), show within twice `ttl`. With a `ttl` of zero nothing is kept.

use crate::extension::Extension;
use crate::ports::ExtensionSearch;
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{Background, Page, PageRequest};
use std::collections::HashMap;
use std::future::Future;
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
    /// Where expired pages are read again; `None`: by the request that found them expired.
    background: Option<Arc<dyn Background>>,
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
    /// A read of this page is under way since it expired.
    refreshing: bool,
}

/// What [`ListingCache::lookup`] found.
#[derive(Debug, PartialEq)]
enum Lookup {
    /// The page to answer with.
    Kept(Page<Extension>),
    /// The page has expired and the caller is the one to read it again; until then, it may
    /// still be answered with.
    Expired {
        /// The expired page.
        page: Page<Extension>,
        /// The generation the read starts under.
        generation: u64,
    },
    /// Nothing usable: read the page, then [`ListingCache::put`] it with this generation.
    Missing {
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
            background: None,
            state: Mutex::new(State::default()),
        }
    }

    /// Keeps nothing: every listing is read from storage.
    #[must_use]
    pub fn disabled() -> Self {
        Self::new(Duration::zero(), 0)
    }

    /// The same cache, reading expired pages again in `background` rather than on a
    /// request's time.
    #[must_use]
    pub fn refreshed_in(self, background: Arc<dyn Background>) -> Self {
        Self {
            background: Some(background),
            ..self
        }
    }

    /// The page for `key` at `now`: the kept one, or what `read` returns (which is then
    /// kept). An expired page is still answered with while one `read` brings it up to
    /// date: in the background when there is a runner, otherwise by this call.
    ///
    /// # Errors
    /// What `read` returned, when it had to be waited for.
    pub async fn page<R, F, E>(
        self: &Arc<Self>,
        key: ListingKey,
        now: DateTime<Utc>,
        read: R,
    ) -> Result<Page<Extension>, E>
    where
        R: FnOnce(ListingKey) -> F,
        F: Future<Output = Result<Page<Extension>, E>> + Send + 'static,
    {
        let generation = match self.lookup(&key, now) {
            Lookup::Kept(page) => return Ok(page),
            Lookup::Expired { page, generation } => match &self.background {
                Some(background) => {
                    let reading = read(key.clone());
                    let cache = Arc::clone(self);
                    // A failed read leaves the page marked as being read: it is answered
                    // with until its grace ends, and then a request reads it and gets the
                    // error.
                    background.spawn(Box::pin(async move {
                        if let Ok(fresh) = reading.await {
                            cache.put(key, generation, now, fresh);
                        }
                    }));
                    return Ok(page);
                }
                None => generation,
            },
            Lookup::Missing { generation } => generation,
        };
        let found = read(key.clone()).await?;
        self.put(key, generation, now, found.clone());
        Ok(found)
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
    fn lookup(&self, key: &ListingKey, now: DateTime<Utc>) -> Lookup {
        let mut state = self.state();
        let generation = state.generation;
        if !self.keeps_pages() {
            return Lookup::Missing { generation };
        }
        let Some(kept) = state.pages.get_mut(key) else {
            return Lookup::Missing { generation };
        };
        if now >= kept.expires + self.ttl {
            return Lookup::Missing { generation };
        }
        let answer = Arc::clone(&kept.page);
        let read_now = now >= kept.expires && !kept.refreshing;
        kept.refreshing |= read_now;
        drop(state);
        let page = Page::clone(&answer);
        if read_now {
            Lookup::Expired { page, generation }
        } else {
            Lookup::Kept(page)
        }
    }

    /// Keeps `page` for `key` as read at `read_at`, unless the catalog changed since
    /// `generation` was read or a page read later is kept already. When full, pages past
    /// their grace go first, and then all of them (a burst of distinct listings is served
    /// by the database either way; this keeps the bound cheap).
    fn put(&self, key: ListingKey, generation: u64, read_at: DateTime<Utc>, page: Page<Extension>) {
        if !self.keeps_pages() {
            return;
        }
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        let expires = read_at + self.ttl;
        if state
            .pages
            .get(&key)
            .is_some_and(|kept| kept.expires > expires)
        {
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
            state.pages.retain(|_, kept| read_at < kept.expires + ttl);
            state.held = state.pages.values().map(weight_of).sum();
            if state.held + weight > self.capacity {
                state.pages.clear();
                state.held = 0;
            }
        }
        let kept = Kept {
            expires,
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
    use devforge_domain::{Background, BackgroundTask, Page, PageRequest};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

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
            Lookup::Expired { .. } | Lookup::Missing { .. } => None,
        }
    }

    /// Reads on behalf of a caller told to: puts `answer(total)` under its generation.
    fn read_and_put(cache: &ListingCache, key: ListingKey, now: DateTime<Utc>, total: u64) {
        match cache.lookup(&key, now) {
            Lookup::Expired { generation, .. } | Lookup::Missing { generation } => {
                cache.put(key, generation, now, answer(total));
            }
            Lookup::Kept(page) => panic!("expected to be told to read, got {page:?}"),
        }
    }

    /// An index that answers nothing and takes everything: only what the wrapper around it
    /// does to the cache is under test.
    #[derive(Debug)]
    struct NoIndex;

    impl crate::index::ListingIndex for NoIndex {
        fn search(&self, _: &ExtensionSearch, _: PageRequest) -> Option<crate::Listing> {
            None
        }
        fn apply(&self, _: Vec<crate::ListingUpdate>) {}
        fn lost(&self, _: crate::ExtensionId) {}
        fn lost_ids(&self) -> Vec<crate::ExtensionId> {
            Vec::new()
        }
        fn load(&self, _: Vec<crate::Extension>, _: std::time::Instant) {}
        fn confirm(&self, _: Option<std::time::Instant>) {}
        fn suspect(&self) {}
        fn wait_current(&self, _: std::time::Duration) -> crate::index::CurrentWait<'_> {
            Box::pin(std::future::ready(false))
        }
        fn state(&self) -> crate::IndexState {
            crate::IndexState::Behind
        }
    }

    #[test]
    fn a_change_from_the_feed_drops_the_kept_pages_at_once() {
        use crate::index::{ChangesDropCache, ListingIndex as _};
        let cache = Arc::new(ListingCache::new(Duration::seconds(5), 10));
        let follower = ChangesDropCache::new(Arc::new(NoIndex), Arc::clone(&cache));
        read_and_put(&cache, key(1), at(0), 7);
        follower.confirm(None);
        follower.suspect();
        assert_eq!(
            kept_total(&cache, &key(1), at(1)),
            Some(7),
            "no change, page kept"
        );
        follower.apply(Vec::new());
        assert_eq!(
            kept_total(&cache, &key(1), at(1)),
            None,
            "dropped, long before it expires"
        );
        read_and_put(&cache, key(1), at(1), 8);
        follower.lost(crate::ExtensionId::generate());
        assert_eq!(kept_total(&cache, &key(1), at(1)), None);
        read_and_put(&cache, key(1), at(1), 9);
        follower.load(Vec::new(), std::time::Instant::now());
        assert_eq!(kept_total(&cache, &key(1), at(1)), None);
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
        let Lookup::Expired { generation, .. } = cache.lookup(&key(1), at(5)) else {
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
        let Lookup::Missing { generation } = cache.lookup(&key(2), at(0)) else {
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

    /// Holds background tasks until the test runs them.
    #[derive(Default)]
    struct HeldTasks(Mutex<Vec<BackgroundTask>>);

    impl std::fmt::Debug for HeldTasks {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("HeldTasks")
        }
    }

    impl Background for HeldTasks {
        fn spawn(&self, task: BackgroundTask) {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(task);
        }
    }

    impl HeldTasks {
        async fn run_all(&self) -> usize {
            let tasks: Vec<_> = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .drain(..)
                .collect();
            let count = tasks.len();
            for task in tasks {
                task.await;
            }
            count
        }
    }

    /// A read answering `answer(total)`, or an error when `total` is `None`, counting calls.
    fn reader(
        reads: &Arc<AtomicUsize>,
        total: Option<u64>,
    ) -> impl FnOnce(ListingKey) -> std::future::Ready<Result<Page<crate::Extension>, &'static str>>
    {
        let reads = Arc::clone(reads);
        move |_key| {
            reads.fetch_add(1, Ordering::SeqCst);
            std::future::ready(total.map(answer).ok_or("storage is down"))
        }
    }

    async fn total_of(
        cache: &Arc<ListingCache>,
        now: DateTime<Utc>,
        reads: &Arc<AtomicUsize>,
        read_total: Option<u64>,
    ) -> Result<u64, &'static str> {
        cache
            .page(key(1), now, reader(reads, read_total))
            .await
            .map(|page| page.total)
    }

    fn refreshed_in_background() -> (Arc<ListingCache>, Arc<HeldTasks>) {
        let tasks = Arc::new(HeldTasks::default());
        let cache = ListingCache::new(Duration::seconds(5), 10)
            .refreshed_in(Arc::clone(&tasks) as Arc<dyn Background>);
        (Arc::new(cache), tasks)
    }

    #[tokio::test]
    async fn an_expired_page_is_answered_at_once_while_the_background_reads_it_again() {
        let (cache, tasks) = refreshed_in_background();
        let reads = Arc::new(AtomicUsize::new(0));
        assert_eq!(total_of(&cache, at(0), &reads, Some(1)).await, Ok(1));
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "a missing page is read at once"
        );

        assert_eq!(total_of(&cache, at(5), &reads, Some(2)).await, Ok(1));
        assert_eq!(total_of(&cache, at(6), &reads, Some(3)).await, Ok(1));
        assert_eq!(tasks.run_all().await, 1, "one read for the expired page");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        assert_eq!(
            total_of(&cache, at(7), &reads, Some(4)).await,
            Ok(2),
            "then its answer, without another read"
        );
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn without_a_runner_the_request_that_finds_a_page_expired_reads_it() {
        let cache = Arc::new(ListingCache::new(Duration::seconds(5), 10));
        let reads = Arc::new(AtomicUsize::new(0));
        assert_eq!(total_of(&cache, at(0), &reads, Some(1)).await, Ok(1));
        assert_eq!(total_of(&cache, at(5), &reads, Some(2)).await, Ok(2));
        assert_eq!(total_of(&cache, at(6), &reads, Some(3)).await, Ok(2));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_background_read_that_raced_a_change_is_not_kept() {
        let (cache, tasks) = refreshed_in_background();
        let reads = Arc::new(AtomicUsize::new(0));
        assert_eq!(total_of(&cache, at(0), &reads, Some(1)).await, Ok(1));
        assert_eq!(total_of(&cache, at(5), &reads, Some(2)).await, Ok(1));
        cache.invalidate();
        assert_eq!(tasks.run_all().await, 1);
        assert_eq!(
            total_of(&cache, at(6), &reads, Some(3)).await,
            Ok(3),
            "read after the change, not the raced answer"
        );
    }

    #[tokio::test]
    async fn a_slow_background_read_never_replaces_a_page_read_after_it() {
        let (cache, tasks) = refreshed_in_background();
        let reads = Arc::new(AtomicUsize::new(0));
        assert_eq!(total_of(&cache, at(0), &reads, Some(1)).await, Ok(1));
        assert_eq!(total_of(&cache, at(5), &reads, Some(2)).await, Ok(1));
        assert_eq!(
            total_of(&cache, at(10), &reads, Some(3)).await,
            Ok(3),
            "past the grace a request reads for itself"
        );
        assert_eq!(tasks.run_all().await, 1, "the read started at 5 ends now");
        assert_eq!(
            total_of(&cache, at(11), &reads, Some(4)).await,
            Ok(3),
            "the page read at 10 stays"
        );
    }

    #[tokio::test]
    async fn a_failed_background_read_is_retried_by_a_request_once_the_grace_ends() {
        let (cache, tasks) = refreshed_in_background();
        let reads = Arc::new(AtomicUsize::new(0));
        assert_eq!(total_of(&cache, at(0), &reads, Some(1)).await, Ok(1));
        assert_eq!(total_of(&cache, at(5), &reads, None).await, Ok(1));
        assert_eq!(tasks.run_all().await, 1);
        assert_eq!(
            total_of(&cache, at(9), &reads, Some(2)).await,
            Ok(1),
            "still answered with during its grace"
        );
        assert_eq!(
            total_of(&cache, at(10), &reads, None).await,
            Err("storage is down"),
            "too old: the request reads, and sees the failure"
        );
        assert_eq!(
            tasks.run_all().await,
            0,
            "that read was not in the background"
        );
        assert_eq!(total_of(&cache, at(10), &reads, Some(3)).await, Ok(3));
    }
}
