//! Which payment renewed which license. The primary key on the payment makes a renewal
//! paid for once happen once, however often fulfilment is retried.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LicensePaymentRenewals {
    Table,
    PaymentId,
    LicenseId,
    RenewedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LicensePaymentRenewals::Table)
                    .col(string_len(LicensePaymentRenewals::PaymentId, 64).primary_key())
                    .col(uuid(LicensePaymentRenewals::LicenseId))
                    .col(timestamp_with_time_zone(LicensePaymentRenewals::RenewedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("license_payment_renewals_license")
                            .from(
                                LicensePaymentRenewals::Table,
                                LicensePaymentRenewals::LicenseId,
                            )
                            .to(Licenses::Table, Licenses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(LicensePaymentRenewals::Table)
                    .to_owned(),
            )
            .await
    }
}
