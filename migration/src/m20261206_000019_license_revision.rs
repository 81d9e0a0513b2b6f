//! A revision number on every license, bumped by each change to the license or its seats.
//!
//! Validation reuses a signed offline certificate only while the license's revision is the
//! one it was signed at, so a suspension followed by a reinstatement, or a seat released
//! and taken again, always leads to a new certificate even though the license reads the
//! same as before. Existing licenses start at 0.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Licenses::Table)
                    .add_column(big_integer(Licenses::Revision).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Licenses::Table)
                    .drop_column(Licenses::Revision)
                    .to_owned(),
            )
            .await
    }
}
