//! Failed-login counters per email and client, replacing the per-email lock of
//! `login_throttle`. One row per (email, client IP) counts that client's failures; the row
//! whose client is empty counts the email's attempts over all clients (see the identity
//! crate's `throttle` module). The old counters are dropped, not carried over: they are
//! minutes-long bookkeeping, and starting them afresh only forgets a few failures.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Email,
    Client,
    Failures,
    BlockedUntil,
    LastAttemptAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Email,
    Failures,
    LockedUntil,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(string_len(LoginAttempts::Email, 254))
                    .col(string_len(LoginAttempts::Client, 64))
                    .col(integer(LoginAttempts::Failures).default(0))
                    .col(timestamp_with_time_zone_null(LoginAttempts::BlockedUntil))
                    .col(timestamp_with_time_zone_null(LoginAttempts::LastAttemptAt))
                    .primary_key(
                        Index::create()
                            .col(LoginAttempts::Email)
                            .col(LoginAttempts::Client),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(LoginThrottle::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string_len(LoginThrottle::Email, 254).primary_key())
                    .col(integer(LoginThrottle::Failures).default(0))
                    .col(timestamp_with_time_zone_null(LoginThrottle::LockedUntil))
                    .col(timestamp_with_time_zone(LoginThrottle::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(LoginAttempts::Table).to_owned())
            .await
    }
}
