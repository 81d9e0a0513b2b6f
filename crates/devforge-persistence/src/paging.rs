//! One page of a query, the same way for every list.

use crate::error::store_error;
use devforge_domain::{Page, PageRequest, StoreError};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, Select};

/// One page of `query`'s rows, converted, with the total.
pub(crate) async fn fetch_page<E, T>(
    db: &DatabaseConnection,
    query: Select<E>,
    page: PageRequest,
    convert: impl Fn(E::Model) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let paginator = query.paginate(db, page.per_page());
    let total = paginator.num_items().await.map_err(store_error)?;
    let rows = paginator
        .fetch_page(page.page() - 1)
        .await
        .map_err(store_error)?;
    let items = rows.into_iter().map(convert).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        request: page,
        total,
    })
}
