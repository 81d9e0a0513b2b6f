//! Ticket lists: filters, the effective-status rule, full text and sorting.

use super::tickets::to_ticket;
use crate::entities::tickets;
use crate::search_sql::{fts5_match, postgres_text};
use chrono::{DateTime, Utc};
use devforge_domain::SearchQuery;
use devforge_domain::{Page, PageRequest, StoreError};
use devforge_support::TicketStatus;
use devforge_support::ports::{AssigneeFilter, TicketFilter, TicketSort};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, Select,
};

/// Tickets whose effective status is `status`: a resolved ticket resolved at or before
/// `cutoff` has passed its reopen window and counts as closed.
fn effective_status(status: TicketStatus, cutoff: DateTime<Utc>) -> Condition {
    use tickets::Column as C;
    let stored = |s: TicketStatus| C::Status.eq(s.as_str());
    match status {
        TicketStatus::Resolved => Condition::all()
            .add(stored(TicketStatus::Resolved))
            .add(C::ResolvedAt.gt(cutoff)),
        TicketStatus::Closed => Condition::any().add(stored(TicketStatus::Closed)).add(
            Condition::all()
                .add(stored(TicketStatus::Resolved))
                .add(C::ResolvedAt.lte(cutoff)),
        ),
        other => Condition::all().add(stored(other)),
    }
}

/// The full-text condition: the subject, or one message (public ones only unless
/// `internal`), contains every term.
fn matches(backend: DbBackend, query: &SearchQuery, internal: bool) -> Condition {
    if query.is_empty() {
        return Condition::all().add(Expr::cust("1 = 0"));
    }
    let condition = match backend {
        DbBackend::Postgres => {
            let visibility = if internal {
                ""
            } else {
                " AND m.internal = false"
            };
            let text = postgres_text(query);
            Expr::cust_with_values(
                format!(
                    "(to_tsvector('english', tickets.subject) @@ plainto_tsquery('english', $1) \
                     OR EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = tickets.id{visibility} \
                     AND to_tsvector('english', m.body) @@ plainto_tsquery('english', $1)))"
                ),
                [text],
            )
        }
        _ => {
            let visibility = if internal { "" } else { " AND internal = 0" };
            Expr::cust_with_values(
                format!(
                    "tickets.id IN (SELECT ticket_id FROM ticket_search \
                     WHERE ticket_search MATCH ?{visibility})"
                ),
                [fts5_match(query)],
            )
        }
    };
    Condition::all().add(condition)
}

fn sorted(query: Select<tickets::Entity>, sort: TicketSort) -> Select<tickets::Entity> {
    use tickets::Column as C;
    match sort {
        TicketSort::Newest => query.order_by_desc(C::CreatedAt).order_by_desc(C::Number),
        TicketSort::Oldest => query.order_by_asc(C::CreatedAt).order_by_asc(C::Number),
        TicketSort::Priority => query
            .order_by_desc(C::Priority)
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Number),
        TicketSort::LastActivity => query
            .order_by_desc(C::LastActivityAt)
            .order_by_desc(C::Number),
    }
}

pub(super) async fn list(
    db: &DatabaseConnection,
    filter: TicketFilter,
    sort: TicketSort,
    page: PageRequest,
) -> Result<Page<devforge_support::Ticket>, StoreError> {
    use tickets::Column as C;
    let mut query = tickets::Entity::find();
    if let Some(requester) = filter.requester {
        query = query.filter(C::RequesterId.eq(requester.as_uuid()));
    }
    if let Some(status) = filter.status {
        query = query.filter(effective_status(status, filter.reopen_cutoff));
    }
    if let Some(priority) = filter.priority {
        query = query.filter(C::Priority.eq(priority.rank()));
    }
    if let Some(category) = filter.category {
        query = query.filter(C::Category.eq(category.as_str()));
    }
    query = match filter.assignee {
        AssigneeFilter::Any => query,
        AssigneeFilter::Nobody => query.filter(C::AssigneeId.is_null()),
        AssigneeFilter::User(user) => query.filter(C::AssigneeId.eq(user.as_uuid())),
    };
    if let Some(search) = &filter.query {
        let backend = db.get_database_backend();
        query = query.filter(matches(backend, search, filter.search_internal));
    }
    crate::paging::fetch_page(db, sorted(query, sort), page, to_ticket).await
}
