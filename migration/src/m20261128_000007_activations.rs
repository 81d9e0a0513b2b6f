//! Seats: the machines a license is activated on. The unique (license, fingerprint) pair
//! makes activating the same machine twice a no-op rather than a second seat, even when
//! the two requests race. Seats go with their license.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Activations {
    Table,
    Id,
    LicenseId,
    Fingerprint,
    Name,
    Platform,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Activations::Table)
                    .col(pk_uuid(Activations::Id))
                    .col(uuid(Activations::LicenseId))
                    .col(string_len(Activations::Fingerprint, 256))
                    .col(string_len_null(Activations::Name, 100))
                    .col(string_len_null(Activations::Platform, 100))
                    .col(timestamp_with_time_zone(Activations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("activations_license")
                            .from(Activations::Table, Activations::LicenseId)
                            .to(Licenses::Table, Licenses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("activations_license_fingerprint")
                    .table(Activations::Table)
                    .col(Activations::LicenseId)
                    .col(Activations::Fingerprint)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Activations::Table).to_owned())
            .await
    }
}
