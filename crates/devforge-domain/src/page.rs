//! Paging, the same for every list the API returns.

/// Which slice of a list to return. Always within bounds: `1 <= page <= 1,000,000`,
/// `1 <= per_page <= 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u64,
    per_page: u64,
}

impl PageRequest {
    /// The page size when the client names none.
    pub const DEFAULT_PER_PAGE: u64 = 20;
    /// The largest page a client may ask for.
    pub const MAX_PER_PAGE: u64 = 100;
    /// The deepest page a client may ask for: a hundred million items in, far past any
    /// list here, and a bound a client can check before it asks.
    pub const MAX_PAGE: u64 = 1_000_000;

    /// A page request from optional client input, using the defaults for what is missing.
    ///
    /// # Errors
    /// [`crate::InvalidValue`] when `page` is outside `1..=1_000_000` or `per_page` is
    /// outside `1..=100`.
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Result<Self, crate::InvalidValue> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if !(1..=Self::MAX_PAGE).contains(&page) {
            return Err(crate::InvalidValue::new(
                "page",
                format!("must be between 1 and {}", Self::MAX_PAGE),
            ));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(crate::InvalidValue::new(
                "per_page",
                format!("must be between 1 and {}", Self::MAX_PER_PAGE),
            ));
        }
        Ok(Self { page, per_page })
    }

    /// The 1-based page number.
    #[must_use]
    pub const fn page(&self) -> u64 {
        self.page
    }

    /// The page size.
    #[must_use]
    pub const fn per_page(&self) -> u64 {
        self.per_page
    }

    /// How many items come before this page.
    #[must_use]
    pub const fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

/// One page of a list, with the total count across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The request that produced this page.
    pub request: PageRequest,
    /// How many items the whole list has.
    pub total: u64,
}

impl<T> Page<T> {
    /// The page `request` asks for, cut from the whole list (for in-memory stores).
    #[must_use]
    pub fn slice(all: Vec<T>, request: PageRequest) -> Self {
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(request.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(request.per_page()).unwrap_or(usize::MAX))
            .collect();
        Self {
            items,
            request,
            total,
        }
    }

    /// Converts every item, keeping the paging.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            request: self.request,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Page, PageRequest};

    #[test]
    fn a_slice_is_one_page_of_the_whole_with_its_total() {
        let request = PageRequest::new(Some(2), Some(2)).unwrap_or_default();
        let page = Page::slice(vec![1, 2, 3, 4, 5], request);
        assert_eq!((page.items, page.total), (vec![3, 4], 5));
    }

    #[test]
    fn missing_values_take_the_defaults() {
        let request = PageRequest::new(None, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (request.page(), request.per_page(), request.offset()),
            (1, 20, 0)
        );
    }

    #[test]
    fn the_offset_skips_earlier_pages() {
        let request = PageRequest::new(Some(3), Some(10)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.offset(), 20);
    }

    #[test]
    fn pages_past_the_deepest_are_rejected() {
        let err = PageRequest::new(Some(u64::MAX), Some(100)).err();
        assert_eq!(err.map(|e| e.field), Some("page"));
        assert!(PageRequest::new(Some(PageRequest::MAX_PAGE + 1), Some(1)).is_err());
        let deepest = PageRequest::new(Some(PageRequest::MAX_PAGE), Some(100));
        assert!(deepest.is_ok_and(|request| i64::try_from(request.offset()).is_ok()));
    }

    #[test]
    fn page_zero_and_oversized_pages_are_rejected() {
        assert_eq!(
            PageRequest::new(Some(0), None).err().map(|e| e.field),
            Some("page")
        );
        assert_eq!(
            PageRequest::new(None, Some(101)).err().map(|e| e.field),
            Some("per_page")
        );
        assert!(PageRequest::new(None, Some(0)).is_err());
    }
}
