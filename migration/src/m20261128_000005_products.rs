//! The product catalogue. The SKU is the key: it is stable, readable, and what licenses
//! and prices refer to.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Sku,
    Name,
    PriceMinor,
    Currency,
    LicenseDurationDays,
    MaxActivations,
    GraceDays,
    Entitlements,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(string_len(Products::Sku, 64).primary_key())
                    .col(string_len(Products::Name, 100))
                    .col(big_integer(Products::PriceMinor))
                    .col(string_len(Products::Currency, 3))
                    .col(integer_null(Products::LicenseDurationDays))
                    .col(integer(Products::MaxActivations))
                    .col(integer(Products::GraceDays))
                    .col(json(Products::Entitlements))
                    .col(boolean(Products::Active))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .col(timestamp_with_time_zone(Products::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await
    }
}
