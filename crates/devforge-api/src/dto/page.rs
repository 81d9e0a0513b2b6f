//! The list envelope every paginated route returns.

use devforge_domain::{InvalidValue, Page, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageResponse<T: ToSchema> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The 1-based page number.
    pub page: u64,
    /// The page size (default 20, at most 100).
    pub per_page: u64,
    /// Items across all pages.
    pub total: u64,
}

impl<T: ToSchema> PageResponse<T> {
    /// Converts a domain page, mapping each item.
    pub fn from_page<D>(page: Page<D>, f: impl FnMut(D) -> T) -> Self {
        let request = page.request;
        Self {
            items: page.items.into_iter().map(f).collect(),
            page: request.page(),
            per_page: request.per_page(),
            total: page.total,
        }
    }
}

/// Builds the domain page request from the `page` and `per_page` query parameters.
///
/// # Errors
/// [`InvalidValue`] when either is out of range.
pub fn page_request(page: Option<u64>, per_page: Option<u64>) -> Result<PageRequest, InvalidValue> {
    PageRequest::new(page, per_page)
}
