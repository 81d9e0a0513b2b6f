//! Licenses. The key itself is never stored: `key_hash` (an HMAC, unique) finds it and
//! `sealed_key` keeps it encrypted for its owner. `payment_id` is unique so one payment
//! can produce only one license, however often its webhook arrives; licenses granted by an
//! admin leave it NULL, and NULLs never collide in a unique index on either database.
//! Owners and products cannot be deleted while a license refers to them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Sku,
}

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
    KeyHash,
    SealedKey,
    UserId,
    Product,
    Status,
    IssuedAt,
    ExpiresAt,
    GraceDays,
    MaxActivations,
    ActivationsCount,
    Entitlements,
    Source,
    PaymentId,
    RevocationReason,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Licenses::Table)
                    .col(pk_uuid(Licenses::Id))
                    .col(string_len(Licenses::KeyHash, 64))
                    .col(blob(Licenses::SealedKey))
                    .col(uuid(Licenses::UserId))
                    .col(string_len(Licenses::Product, 64))
                    .col(string_len(Licenses::Status, 16))
                    .col(timestamp_with_time_zone(Licenses::IssuedAt))
                    .col(timestamp_with_time_zone_null(Licenses::ExpiresAt))
                    .col(integer(Licenses::GraceDays))
                    .col(integer(Licenses::MaxActivations))
                    .col(integer(Licenses::ActivationsCount).default(0))
                    .col(json(Licenses::Entitlements))
                    .col(string_len(Licenses::Source, 100))
                    .col(string_len_null(Licenses::PaymentId, 100))
                    .col(string_len_null(Licenses::RevocationReason, 500))
                    .col(timestamp_with_time_zone(Licenses::CreatedAt))
                    .col(timestamp_with_time_zone(Licenses::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("licenses_user")
                            .from(Licenses::Table, Licenses::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("licenses_product")
                            .from(Licenses::Table, Licenses::Product)
                            .to(Products::Table, Products::Sku)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column, unique) in [
            ("licenses_key_hash", Licenses::KeyHash, true),
            ("licenses_payment_id", Licenses::PaymentId, true),
            ("licenses_user", Licenses::UserId, false),
            ("licenses_product", Licenses::Product, false),
            ("licenses_status", Licenses::Status, false),
        ] {
            let mut index = Index::create();
            index.name(name).table(Licenses::Table).col(column);
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Licenses::Table).to_owned())
            .await
    }
}
