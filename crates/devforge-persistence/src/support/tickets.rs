//! [`TicketRepository`] on SQL: creating, changing and reading tickets and their threads.

use super::SqlSupportStore;
use crate::entities::{ticket_events, ticket_messages, tickets};
use crate::error::{corrupt, store_error};
use devforge_domain::{Page, PageRequest, Role, StoreError, UserId};
use devforge_support::ports::{
    Expected, Milestone, NewTicket, TicketFilter, TicketRepository, TicketSort, TicketStats,
    TicketUpdate, UpdateOutcome,
};
use devforge_support::thread::NewTicketEvent;
use devforge_support::{
    Category, EventKind, Message, MessageBody, MessageId, Priority, Subject, Ticket, TicketEvent,
    TicketId, TicketStatus,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement, TransactionTrait, TryGetable,
};

/// The statuses that still need work.
pub(super) const ACTIVE: [TicketStatus; 3] = [
    TicketStatus::Open,
    TicketStatus::InProgress,
    TicketStatus::WaitingOnCustomer,
];

pub(super) fn to_ticket(row: tickets::Model) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: TicketId::from_uuid(row.id),
        number: u64::try_from(row.number).map_err(|e| corrupt("ticket number", e))?,
        subject: Subject::from_trusted(row.subject),
        category: Category::parse(&row.category).map_err(|e| corrupt("ticket category", e))?,
        priority: Priority::from_rank(row.priority)
            .ok_or_else(|| corrupt("ticket priority", row.priority))?,
        status: TicketStatus::parse(&row.status).map_err(|e| corrupt("ticket status", e))?,
        requester: UserId::from_uuid(row.requester_id),
        assignee: row.assignee_id.map(UserId::from_uuid),
        license_id: row.license_id,
        payment_id: row.payment_id,
        created_at: row.created_at,
        last_activity_at: row.last_activity_at,
        first_response_at: row.first_response_at,
        resolved_at: row.resolved_at,
        closed_at: row.closed_at,
    })
}

fn to_message(row: ticket_messages::Model) -> Message {
    Message {
        id: MessageId::from_uuid(row.id),
        ticket_id: TicketId::from_uuid(row.ticket_id),
        author: UserId::from_uuid(row.author_id),
        from_staff: row.from_staff,
        internal: row.internal,
        body: MessageBody::from_trusted(row.body),
        created_at: row.created_at,
    }
}

fn to_event(row: ticket_events::Model) -> Result<TicketEvent, StoreError> {
    Ok(TicketEvent {
        id: row.id,
        event: NewTicketEvent {
            kind: EventKind::parse(&row.kind).ok_or_else(|| corrupt("ticket event", &row.kind))?,
            actor: row.actor_id.map(UserId::from_uuid),
            from: row.from_value,
            to: row.to_value,
            at: row.created_at,
        },
    })
}

/// Whole seconds, as stored for the dashboard's medians.
fn seconds(milestone: Milestone) -> i64 {
    i64::try_from(milestone.after.as_secs()).unwrap_or(i64::MAX)
}

async fn insert_message(txn: &DatabaseTransaction, message: Message) -> Result<(), StoreError> {
    ticket_messages::ActiveModel {
        id: Set(message.id.as_uuid()),
        ticket_id: Set(message.ticket_id.as_uuid()),
        author_id: Set(message.author.as_uuid()),
        from_staff: Set(message.from_staff),
        internal: Set(message.internal),
        body: Set(message.body.as_str().to_owned()),
        created_at: Set(message.created_at),
    }
    .insert(txn)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn insert_event(
    txn: &DatabaseTransaction,
    ticket: TicketId,
    event: NewTicketEvent,
) -> Result<(), StoreError> {
    ticket_events::ActiveModel {
        ticket_id: Set(ticket.as_uuid()),
        kind: Set(event.kind.as_str().to_owned()),
        actor_id: Set(event.actor.map(|a| a.as_uuid())),
        from_value: Set(event.from),
        to_value: Set(event.to),
        created_at: Set(event.at),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Takes the next ticket number. The UPDATE locks the counter row until commit, which
/// serializes ticket creation (and with it, auto-assignment).
async fn next_number(txn: &DatabaseTransaction) -> Result<i64, StoreError> {
    let counter = Alias::new("support_counters");
    let value = Alias::new("value");
    let name = Alias::new("name");
    let bump = Query::update()
        .table(counter.clone())
        .value(value.clone(), Expr::col(value.clone()).add(1))
        .and_where(Expr::col(name.clone()).eq("ticket"))
        .to_owned();
    txn.execute(&bump).await.map_err(store_error)?;
    let read = Query::select()
        .column(value.clone())
        .from(counter)
        .and_where(Expr::col(name).eq("ticket"))
        .to_owned();
    let row = txn
        .query_one(&read)
        .await
        .map_err(store_error)?
        .ok_or_else(|| StoreError::unexpected("the ticket counter row is missing"))?;
    row.try_get("", "value").map_err(store_error)
}

/// The enabled support member with the fewest active tickets; among equals, the one whose
/// latest assignment is oldest (never assigned first), then by id.
async fn least_busy_support(txn: &DatabaseTransaction) -> Result<Option<UserId>, StoreError> {
    let backend = txn.get_database_backend();
    let active = ACTIVE
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT u.id AS id FROM users u \
         WHERE u.role = '{role}' AND u.disabled = false \
         ORDER BY \
           (SELECT COUNT(*) FROM tickets t WHERE t.assignee_id = u.id AND t.status IN ({active})), \
           (SELECT MAX(t.assigned_at) FROM tickets t WHERE t.assignee_id = u.id) IS NOT NULL, \
           (SELECT MAX(t.assigned_at) FROM tickets t WHERE t.assignee_id = u.id), \
           u.id \
         LIMIT 1",
        role = Role::Support.as_str(),
    );
    let row = txn
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .map_err(store_error)?;
    row.map(|row| uuid::Uuid::try_get(&row, "", "id").map_err(|e| store_error(e.into())))
        .transpose()
        .map(|id| id.map(UserId::from_uuid))
}

async fn find(
    db: &impl ConnectionTrait,
    id: TicketId,
) -> Result<Option<tickets::Model>, StoreError> {
    tickets::Entity::find_by_id(id.as_uuid())
        .one(db)
        .await
        .map_err(store_error)
}

impl TicketRepository for SqlSupportStore {
    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError> {
        let NewTicket {
            ticket,
            message,
            auto_assign,
        } = new;
        let txn = self.conn().begin().await.map_err(store_error)?;
        let number = next_number(&txn).await?;
        let assignee = if auto_assign {
            least_busy_support(&txn).await?
        } else {
            None
        };
        let at = ticket.created_at;
        let row = tickets::ActiveModel {
            id: Set(ticket.id.as_uuid()),
            number: Set(number),
            subject: Set(ticket.subject.as_str().to_owned()),
            category: Set(ticket.category.as_str().to_owned()),
            priority: Set(ticket.priority.rank()),
            status: Set(ticket.status.as_str().to_owned()),
            requester_id: Set(ticket.requester.as_uuid()),
            assignee_id: Set(assignee.map(|a| a.as_uuid())),
            license_id: Set(ticket.license_id),
            payment_id: Set(ticket.payment_id),
            created_at: Set(at),
            last_activity_at: Set(at),
            first_response_at: Set(None),
            first_response_secs: Set(None),
            resolved_at: Set(None),
            resolution_secs: Set(None),
            closed_at: Set(None),
            assigned_at: Set(assignee.map(|_| at)),
            version: Set(0),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        insert_message(&txn, message).await?;
        let created = NewTicketEvent {
            kind: EventKind::Created,
            actor: Some(ticket.requester),
            from: None,
            to: Some(ticket.status.as_str().to_owned()),
            at,
        };
        insert_event(&txn, ticket.id, created).await?;
        if let Some(assignee) = assignee {
            let assigned = NewTicketEvent {
                kind: EventKind::Assignee,
                actor: None,
                from: None,
                to: Some(assignee.to_string()),
                at,
            };
            insert_event(&txn, ticket.id, assigned).await?;
        }
        txn.commit().await.map_err(store_error)?;
        to_ticket(row)
    }

    async fn find_ticket(&self, id: TicketId) -> Result<Option<(Ticket, i64)>, StoreError> {
        find(self.conn(), id)
            .await?
            .map(|row| {
                let version = row.version;
                to_ticket(row).map(|ticket| (ticket, version))
            })
            .transpose()
    }

    async fn list_tickets(
        &self,
        filter: TicketFilter,
        sort: TicketSort,
        page: PageRequest,
    ) -> Result<Page<Ticket>, StoreError> {
        super::ticket_list::list(self.conn(), filter, sort, page).await
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        expected: Expected,
        update: TicketUpdate,
        message: Option<Message>,
        events: Vec<NewTicketEvent>,
    ) -> Result<UpdateOutcome, StoreError> {
        use tickets::Column as C;
        let fields_change = update.status.is_some()
            || update.priority.is_some()
            || update.category.is_some()
            || update.assignee.is_some();
        // Every statement writes something, so even a note takes the row lock and is
        // ordered against changes of the status it was checked against.
        let bump = if fields_change { 1 } else { 0 };
        let mut change = tickets::Entity::update_many()
            .col_expr(C::Version, Expr::col(C::Version).add(bump))
            .filter(C::Id.eq(id.as_uuid()));
        change = match expected {
            Expected::Version(version) => change.filter(C::Version.eq(version)),
            Expected::Status(status) => change.filter(C::Status.eq(status.as_str())),
        };
        if let Some(status) = update.status {
            change = change.col_expr(C::Status, Expr::value(status.as_str()));
        }
        if let Some(priority) = update.priority {
            change = change.col_expr(C::Priority, Expr::value(priority.rank()));
        }
        if let Some(category) = update.category {
            change = change.col_expr(C::Category, Expr::value(category.as_str()));
        }
        if let Some((assignee, at)) = update.assignee {
            change = change
                .col_expr(C::AssigneeId, Expr::value(assignee.map(|a| a.as_uuid())))
                .col_expr(C::AssignedAt, Expr::value(assignee.map(|_| at)));
        }
        if let Some(at) = update.activity_at {
            change = change.col_expr(C::LastActivityAt, Expr::value(at));
        }
        if let Some(first) = update.first_response {
            change = change
                .col_expr(
                    C::FirstResponseAt,
                    Expr::col(C::FirstResponseAt).if_null(first.at),
                )
                .col_expr(
                    C::FirstResponseSecs,
                    Expr::col(C::FirstResponseSecs).if_null(seconds(first)),
                );
        }
        if let Some(resolution) = update.resolution {
            change = change
                .col_expr(C::ResolvedAt, Expr::value(resolution.map(|r| r.at)))
                .col_expr(C::ResolutionSecs, Expr::value(resolution.map(seconds)));
        }
        if let Some(at) = update.closed_at {
            change = change.col_expr(C::ClosedAt, Expr::value(at));
        }
        let txn = self.conn().begin().await.map_err(store_error)?;
        let updated = change.exec(&txn).await.map_err(store_error)?;
        if updated.rows_affected == 0 {
            let exists = find(&txn, id).await?.is_some();
            txn.rollback().await.map_err(store_error)?;
            return Ok(if exists {
                UpdateOutcome::Stale
            } else {
                UpdateOutcome::NotFound
            });
        }
        if let Some(message) = message {
            insert_message(&txn, message).await?;
        }
        for event in events {
            insert_event(&txn, id, event).await?;
        }
        let row = find(&txn, id)
            .await?
            .ok_or_else(|| StoreError::unexpected("a ticket vanished while being updated"))?;
        txn.commit().await.map_err(store_error)?;
        Ok(UpdateOutcome::Updated(Box::new(to_ticket(row)?)))
    }

    async fn list_messages(
        &self,
        id: TicketId,
        include_internal: bool,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        use ticket_messages::Column as C;
        let mut query = ticket_messages::Entity::find()
            .filter(C::TicketId.eq(id.as_uuid()))
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Id);
        if !include_internal {
            query = query.filter(C::Internal.eq(false));
        }
        crate::paging::fetch_page(self.conn(), query, page, |row| Ok(to_message(row))).await
    }

    async fn list_ticket_events(
        &self,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<TicketEvent>, StoreError> {
        use ticket_events::Column as C;
        let query = ticket_events::Entity::find()
            .filter(C::TicketId.eq(id.as_uuid()))
            .order_by_asc(C::Id);
        crate::paging::fetch_page(self.conn(), query, page, to_event).await
    }

    async fn is_staff(&self, user: UserId) -> Result<bool, StoreError> {
        use crate::entities::users;
        let found = users::Entity::find_by_id(user.as_uuid())
            .filter(users::Column::Disabled.eq(false))
            .filter(users::Column::Role.is_in([Role::Support.as_str(), Role::Admin.as_str()]))
            .one(self.conn())
            .await
            .map_err(store_error)?;
        Ok(found.is_some())
    }

    async fn ticket_stats(&self) -> Result<TicketStats, StoreError> {
        super::stats::ticket_stats(self.conn()).await
    }
}
