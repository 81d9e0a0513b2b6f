//! A license's history. Append-only; the auto-increment id gives a total order.
//! `self_service` marks seat releases made by the key holder or owner rather than an
//! admin: they are rate-limited per license, and a column is indexable and reads the same
//! on both databases, where a flag inside `detail` would need backend-specific JSON
//! operators.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LicenseEvents {
    Table,
    Id,
    LicenseId,
    Kind,
    ActorKind,
    ActorId,
    Detail,
    SelfService,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LicenseEvents::Table)
                    .col(big_pk_auto(LicenseEvents::Id))
                    .col(uuid(LicenseEvents::LicenseId))
                    .col(string_len(LicenseEvents::Kind, 32))
                    .col(string_len(LicenseEvents::ActorKind, 16))
                    .col(uuid_null(LicenseEvents::ActorId))
                    .col(json(LicenseEvents::Detail))
                    .col(boolean(LicenseEvents::SelfService).default(false))
                    .col(timestamp_with_time_zone(LicenseEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("license_events_license")
                            .from(LicenseEvents::Table, LicenseEvents::LicenseId)
                            .to(Licenses::Table, Licenses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, second) in [
            ("license_events_license_created", LicenseEvents::CreatedAt),
            ("license_events_license_kind", LicenseEvents::Kind),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(LicenseEvents::Table)
                        .col(LicenseEvents::LicenseId)
                        .col(second)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LicenseEvents::Table).to_owned())
            .await
    }
}
