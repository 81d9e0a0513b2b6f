//! Article lists by status, category and tag, the most recently published first. Ranked
//! text search is not here: the knowledge base's index answers it (see
//! `devforge_support::search_index`), the same on both databases.

use super::articles::with_tags;
use crate::entities::kb_articles;
use devforge_domain::{Page, PageRequest, StoreError};
use devforge_support::ArticleHit;
use devforge_support::ports::ArticleFilter;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

pub(super) async fn list(
    db: &DatabaseConnection,
    filter: ArticleFilter,
    page: PageRequest,
) -> Result<Page<ArticleHit>, StoreError> {
    use kb_articles::Column as C;
    let mut select = kb_articles::Entity::find()
        .order_by_desc(C::PublishedAt)
        .order_by_desc(C::CreatedAt)
        .order_by_asc(C::Slug);
    if let Some(status) = filter.status {
        select = select.filter(C::Status.eq(status.as_str()));
    }
    if let Some(category) = &filter.category {
        select = select.filter(C::Category.eq(category.as_str()));
    }
    if let Some(tag) = &filter.tag {
        use crate::entities::kb_article_tags as tags;
        let tagged = sea_orm::sea_query::Query::select()
            .column(tags::Column::ArticleId)
            .from(tags::Entity)
            .and_where(tags::Column::Tag.eq(tag.as_str()))
            .to_owned();
        select = select.filter(C::Id.in_subquery(tagged));
    }
    let page = crate::paging::fetch_page(db, select, page, Ok).await?;
    let request = page.request;
    let total = page.total;
    let articles = with_tags(db, page.items).await?;
    Ok(Page {
        items: articles
            .into_iter()
            .map(|article| ArticleHit {
                article,
                snippet: None,
            })
            .collect(),
        request,
        total,
    })
}
