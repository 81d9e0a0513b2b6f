//! Billing: gateway customers, payments, refunds, and the gateway events already applied.
//!
//! - `payments (user_id, idempotency_key)` is unique: one payment per client key.
//! - `payments.intent_id` is unique: events find their payment by it.
//! - `payment_refunds.gateway_id` is unique (a refund reported twice counts once), and so
//!   is `(payment_id, idempotency_key)` for refunds asked through the API.
//! - `amount_refunded` counts refunds the gateway accepted (the larger of the refund rows'
//!   sum and `gateway_refunded`, the charge's refunded total as the gateway last reported
//!   it); `amount_reserved` what is set aside for refunds asked but not yet answered. Both
//!   are recomputed from the rows whenever a refund changes, under the payment's row lock.
//! - `gateway_events.id` is the gateway's event id: recording it in the same transaction as
//!   the event's effect is what makes a replayed delivery change nothing.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum BillingCustomers {
    Table,
    UserId,
    CustomerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    UserId,
    Product,
    RenewLicenseId,
    Amount,
    Currency,
    Status,
    IntentId,
    ClientSecret,
    IdempotencyKey,
    Fingerprint,
    AmountRefunded,
    AmountReserved,
    GatewayRefunded,
    Dispute,
    LicenseId,
    FulfilledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentRefunds {
    Table,
    Id,
    PaymentId,
    IdempotencyKey,
    GatewayId,
    Amount,
    Status,
    Reason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GatewayEvents {
    Table,
    Id,
    Kind,
    ReceivedAt,
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    columns: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(column);
    }
    if unique {
        statement.unique();
    }
    manager.create_index(statement.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BillingCustomers::Table)
                    .col(pk_uuid(BillingCustomers::UserId))
                    .col(string_len(BillingCustomers::CustomerId, 255).unique_key())
                    .col(timestamp_with_time_zone(BillingCustomers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("billing_customers_user")
                            .from(BillingCustomers::Table, BillingCustomers::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::UserId))
                    .col(string_len(Payments::Product, 64))
                    .col(uuid_null(Payments::RenewLicenseId))
                    .col(big_integer(Payments::Amount))
                    .col(string_len(Payments::Currency, 3))
                    .col(string_len(Payments::Status, 24))
                    .col(string_len_null(Payments::IntentId, 255).unique_key())
                    .col(string_len_null(Payments::ClientSecret, 255))
                    .col(string_len(Payments::IdempotencyKey, 255))
                    .col(string_len(Payments::Fingerprint, 64))
                    .col(big_integer(Payments::AmountRefunded))
                    .col(big_integer(Payments::AmountReserved))
                    .col(big_integer(Payments::GatewayRefunded))
                    .col(string_len_null(Payments::Dispute, 16))
                    .col(uuid_null(Payments::LicenseId))
                    .col(timestamp_with_time_zone_null(Payments::FulfilledAt))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .col(timestamp_with_time_zone(Payments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("payments_user")
                            .from(Payments::Table, Payments::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "payments_user_idempotency_key",
            Payments::Table,
            vec![
                Payments::UserId.into_iden(),
                Payments::IdempotencyKey.into_iden(),
            ],
            true,
        )
        .await?;
        index(
            manager,
            "payments_user_created",
            Payments::Table,
            vec![
                Payments::UserId.into_iden(),
                Payments::CreatedAt.into_iden(),
            ],
            false,
        )
        .await?;
        index(
            manager,
            "payments_status",
            Payments::Table,
            vec![Payments::Status.into_iden()],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(PaymentRefunds::Table)
                    .col(big_pk_auto(PaymentRefunds::Id))
                    .col(uuid(PaymentRefunds::PaymentId))
                    .col(string_len_null(PaymentRefunds::IdempotencyKey, 255))
                    .col(string_len_null(PaymentRefunds::GatewayId, 255).unique_key())
                    .col(big_integer(PaymentRefunds::Amount))
                    .col(string_len(PaymentRefunds::Status, 24))
                    .col(string_len_null(PaymentRefunds::Reason, 500))
                    .col(timestamp_with_time_zone(PaymentRefunds::CreatedAt))
                    .col(timestamp_with_time_zone(PaymentRefunds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("payment_refunds_payment")
                            .from(PaymentRefunds::Table, PaymentRefunds::PaymentId)
                            .to(Payments::Table, Payments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "payment_refunds_payment_key",
            PaymentRefunds::Table,
            vec![
                PaymentRefunds::PaymentId.into_iden(),
                PaymentRefunds::IdempotencyKey.into_iden(),
            ],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(GatewayEvents::Table)
                    .col(string_len(GatewayEvents::Id, 255).primary_key())
                    .col(string_len(GatewayEvents::Kind, 100))
                    .col(timestamp_with_time_zone(GatewayEvents::ReceivedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GatewayEvents::Table.into_iden(),
            PaymentRefunds::Table.into_iden(),
            Payments::Table.into_iden(),
            BillingCustomers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
