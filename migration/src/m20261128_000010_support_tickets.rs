//! Support tickets, their threads and their history.
//!
//! - `support_counters` holds the last ticket number. Taking the next number is an UPDATE
//!   of that one row, which also serializes ticket creation, so auto-assignment (fewest
//!   active tickets) sees every earlier ticket even under parallel requests.
//! - `tickets.version` is bumped by every change: changes are compare-and-set on it.
//! - `priority` is stored as its rank (0 low … 3 urgent) so it sorts in SQL.
//! - `first_response_secs` and `resolution_secs` are kept beside their timestamps so the
//!   dashboard's medians are an indexed ORDER BY on both databases, without date
//!   arithmetic that differs between them.
//! - Full text over subjects and messages: expression GIN indexes on PostgreSQL; on SQLite
//!   an FTS5 table (Porter stemming) filled by triggers, one row per subject or message,
//!   marked internal for staff notes so customers' searches can leave those out.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SupportCounters {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    Number,
    Subject,
    Category,
    Priority,
    Status,
    RequesterId,
    AssigneeId,
    LicenseId,
    CreatedAt,
    LastActivityAt,
    FirstResponseAt,
    FirstResponseSecs,
    ResolvedAt,
    ResolutionSecs,
    ClosedAt,
    AssignedAt,
    Version,
}

#[derive(DeriveIden)]
enum TicketMessages {
    Table,
    Id,
    TicketId,
    AuthorId,
    FromStaff,
    Internal,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
    TicketId,
    Kind,
    ActorId,
    FromValue,
    ToValue,
    CreatedAt,
}

const POSTGRES_SEARCH: &str = r"
CREATE INDEX tickets_subject_search ON tickets USING GIN (to_tsvector('english', subject));
CREATE INDEX ticket_messages_body_search ON ticket_messages
    USING GIN (to_tsvector('english', body));
";

const SQLITE_SEARCH: &str = r"
CREATE VIRTUAL TABLE ticket_search USING fts5(
    text, ticket_id UNINDEXED, internal UNINDEXED, tokenize = 'porter unicode61'
);
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (text, ticket_id, internal) VALUES (new.subject, new.id, 0);
END;
CREATE TRIGGER ticket_messages_search_insert AFTER INSERT ON ticket_messages BEGIN
    INSERT INTO ticket_search (text, ticket_id, internal)
        VALUES (new.body, new.ticket_id, new.internal);
END;
";

const SQLITE_SEARCH_DOWN: &str = r"
DROP TRIGGER IF EXISTS ticket_messages_search_insert;
DROP TRIGGER IF EXISTS tickets_search_insert;
DROP TABLE IF EXISTS ticket_search;
";

fn user_reference(
    name: &str,
    table: impl Iden + 'static,
    column: impl Iden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::Id)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SupportCounters::Table)
                    .col(string_len(SupportCounters::Name, 32).primary_key())
                    .col(big_integer(SupportCounters::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(SupportCounters::Table)
                    .columns([SupportCounters::Name, SupportCounters::Value])
                    .values_panic(["ticket".into(), 0_i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(pk_uuid(Tickets::Id))
                    .col(big_integer(Tickets::Number).unique_key())
                    .col(text(Tickets::Subject))
                    .col(string_len(Tickets::Category, 16))
                    .col(small_integer(Tickets::Priority))
                    .col(string_len(Tickets::Status, 24))
                    .col(uuid(Tickets::RequesterId))
                    .col(uuid_null(Tickets::AssigneeId))
                    .col(uuid_null(Tickets::LicenseId))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::LastActivityAt))
                    .col(timestamp_with_time_zone_null(Tickets::FirstResponseAt))
                    .col(big_integer_null(Tickets::FirstResponseSecs))
                    .col(timestamp_with_time_zone_null(Tickets::ResolvedAt))
                    .col(big_integer_null(Tickets::ResolutionSecs))
                    .col(timestamp_with_time_zone_null(Tickets::ClosedAt))
                    .col(timestamp_with_time_zone_null(Tickets::AssignedAt))
                    .col(big_integer(Tickets::Version))
                    .foreign_key(&mut user_reference(
                        "tickets_requester",
                        Tickets::Table,
                        Tickets::RequesterId,
                    ))
                    .foreign_key(&mut user_reference(
                        "tickets_assignee",
                        Tickets::Table,
                        Tickets::AssigneeId,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "tickets_requester_created",
                vec![Tickets::RequesterId, Tickets::CreatedAt],
            ),
            (
                "tickets_assignee_status",
                vec![Tickets::AssigneeId, Tickets::Status],
            ),
            (
                "tickets_status_priority",
                vec![Tickets::Status, Tickets::Priority],
            ),
            ("tickets_created", vec![Tickets::CreatedAt]),
            ("tickets_last_activity", vec![Tickets::LastActivityAt]),
            (
                "tickets_first_response_secs",
                vec![Tickets::FirstResponseSecs],
            ),
            ("tickets_resolution_secs", vec![Tickets::ResolutionSecs]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Tickets::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(TicketMessages::Table)
                    .col(pk_uuid(TicketMessages::Id))
                    .col(uuid(TicketMessages::TicketId))
                    .col(uuid(TicketMessages::AuthorId))
                    .col(boolean(TicketMessages::FromStaff))
                    .col(boolean(TicketMessages::Internal))
                    .col(text(TicketMessages::Body))
                    .col(timestamp_with_time_zone(TicketMessages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("ticket_messages_ticket")
                            .from(TicketMessages::Table, TicketMessages::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut user_reference(
                        "ticket_messages_author",
                        TicketMessages::Table,
                        TicketMessages::AuthorId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ticket_messages_ticket_created")
                    .table(TicketMessages::Table)
                    .col(TicketMessages::TicketId)
                    .col(TicketMessages::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketEvents::Table)
                    .col(big_pk_auto(TicketEvents::Id))
                    .col(uuid(TicketEvents::TicketId))
                    .col(string_len(TicketEvents::Kind, 32))
                    .col(uuid_null(TicketEvents::ActorId))
                    .col(string_len_null(TicketEvents::FromValue, 64))
                    .col(string_len_null(TicketEvents::ToValue, 64))
                    .col(timestamp_with_time_zone(TicketEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("ticket_events_ticket")
                            .from(TicketEvents::Table, TicketEvents::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ticket_events_ticket")
                    .table(TicketEvents::Table)
                    .col(TicketEvents::TicketId)
                    .col(TicketEvents::Id)
                    .to_owned(),
            )
            .await?;
        let search = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_SEARCH,
            _ => SQLITE_SEARCH,
        };
        manager.get_connection().execute_unprepared(search).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(SQLITE_SEARCH_DOWN)
                .await?;
        }
        for table in [
            TicketEvents::Table.into_iden(),
            TicketMessages::Table.into_iden(),
            Tickets::Table.into_iden(),
            SupportCounters::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
