//! Ranked article search: the index brought up to the stored generation, then asked, then
//! the matches read back from the store (views and votes change without a rebuild, and an
//! article unpublished a moment ago must not show to the public).

use super::SupportService;
use crate::article::ArticleHit;
use crate::error::SupportError;
use crate::ports::{ArticleFilter, SupportStore};
use crate::search_index::ArticleIndex;
use devforge_domain::{Clock, Page, PageRequest, SearchQuery};
use futures_util::lock::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// The index, with the lock that lets one search at a time rebuild it.
#[derive(Debug)]
pub(super) struct ArticleSearch {
    index: Arc<dyn ArticleIndex>,
    rebuilding: Mutex<()>,
}

impl ArticleSearch {
    pub(super) fn new(index: Arc<dyn ArticleIndex>) -> Self {
        Self {
            index,
            rebuilding: Mutex::new(()),
        }
    }

    /// Rebuilds the index from `store` unless it holds the stored generation. Searches
    /// that find it behind wait for one rebuild rather than each making their own.
    async fn bring_up_to_date(&self, store: &impl SupportStore) -> Result<(), SupportError> {
        let stored = store.search_generation().await?;
        if self.index.generation() == Some(stored) {
            return Ok(());
        }
        let _rebuilding = self.rebuilding.lock().await;
        // Read again: the search that held the lock may have rebuilt past `stored`.
        let stored = store.search_generation().await?;
        if self.index.generation() == Some(stored) {
            return Ok(());
        }
        // Read after the generation: the articles hold at least every change it counts.
        let articles = store.all_articles().await?;
        self.index.rebuild(stored, &articles)?;
        Ok(())
    }
}

impl<S: SupportStore, C: Clock> SupportService<S, C> {
    pub(super) async fn search_articles(
        &self,
        query: &SearchQuery,
        filter: &ArticleFilter,
        page: PageRequest,
    ) -> Result<Page<ArticleHit>, SupportError> {
        if query.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                request: page,
                total: 0,
            });
        }
        self.search.bring_up_to_date(&self.store).await?;
        let found = self.search.index.search(query, filter, page)?;
        let ids: Vec<_> = found.items.iter().map(|hit| hit.id).collect();
        let mut stored: HashMap<_, _> = self
            .store
            .articles_by_id(&ids)
            .await?
            .into_iter()
            .map(|article| (article.id, article))
            .collect();
        let items = found
            .items
            .into_iter()
            .filter_map(|hit| {
                let article = stored.remove(&hit.id)?;
                filter.admits(&article).then_some(ArticleHit {
                    article,
                    snippet: Some(hit.snippet),
                })
            })
            .collect();
        Ok(Page {
            items,
            request: found.request,
            total: found.total,
        })
    }
}
