//! The knowledge base's full-text search, as a port this crate owns.
//!
//! Articles are searched in memory rather than in SQL, so stemming, ranking and snippets
//! are the same on every database. The database stays the source of truth: it keeps a
//! search generation that every change to what search reads (an article's text, status,
//! category or tags) advances in the change's own transaction, and an index says which
//! generation it holds. Before each search the service reads the stored generation (one
//! row) and, when the index holds another, rebuilds it from the stored articles first. So
//! every instance over one database answers its next search with a change made through any
//! of them, with no change feed to follow. A knowledge base holds hundreds or thousands of
//! articles and changes rarely: a rebuild is small, and happens only after a write.

use crate::article::{Article, ArticleId};
use crate::ports::ArticleFilter;
use devforge_domain::{Page, PageRequest, SearchQuery, Snippet, StoreError};

/// One match of a search: which article, and the excerpt of its body that matched best.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleMatch {
    /// The article.
    pub id: ArticleId,
    /// HTML-escaped, the matched words in `<mark>`; the body's start when only the title
    /// matched.
    pub snippet: Snippet,
}

/// An in-memory full-text index of every article, whatever its status.
pub trait ArticleIndex: std::fmt::Debug + Send + Sync + 'static {
    /// The generation the index holds; `None` before its first build.
    fn generation(&self) -> Option<u64>;

    /// Replaces everything held by `articles`, the whole knowledge base as of
    /// `generation`.
    ///
    /// # Errors
    /// [`StoreError`] when the index cannot be built; the previous contents stay.
    fn rebuild(&self, generation: u64, articles: &[Article]) -> Result<(), StoreError>;

    /// The articles containing every term of `query` (English stems, in the title or the
    /// body) that pass `filter`, best first: a match in the title weighs more than one in
    /// the body; equal scores list the most recently published first, then by slug.
    /// `total` counts every match.
    ///
    /// # Errors
    /// [`StoreError`] when the index fails.
    fn search(
        &self,
        query: &SearchQuery,
        filter: &ArticleFilter,
        page: PageRequest,
    ) -> Result<Page<ArticleMatch>, StoreError>;
}
