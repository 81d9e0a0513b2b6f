//! The `devforge` command line: `serve` (the default), `migrate`, `user create`,
//! `billing reconcile`, `openapi`.

use crate::app::{self, MigrationPolicy, StartupError};
use crate::settings::Settings;
use crate::telemetry;
use clap::{Parser, Subcommand, ValueEnum};
use devforge_domain::Role;
use std::io::BufRead as _;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "devforge", version, about = "The Dev Forge backend server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve {
        /// Apply pending migrations first, also on PostgreSQL.
        #[arg(long)]
        migrate: bool,
    },
    /// Change or inspect the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Payments.
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
    /// Print the OpenAPI document the server serves at `/openapi.json`, without serving
    /// (or touching a database).
    Openapi,
    /// Load-test helpers (for `cargo xtask bench`; never on a production database).
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        action: BenchAction,
    },
}

#[derive(Subcommand)]
enum BillingAction {
    /// Read Stripe's event list and apply what the webhooks missed (idempotently), then
    /// issue the licenses of paid payments that still lack one.
    Reconcile {
        /// How far back to read, e.g. `30m`, `12h`, `3d` (Stripe keeps 30 days).
        #[arg(long, default_value = "3d", value_parser = parse_duration)]
        since: chrono::Duration,
    },
}

/// A duration like `90s`, `30m`, `12h` or `3d`, up to Stripe's 30 days of events.
fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 12h or 3d"))?;
    let duration = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return Err(format!("`{text}` is not a duration like 30m, 12h or 3d")),
    };
    if n <= 0 || duration > chrono::Duration::days(30) {
        return Err("the duration must be positive and at most 30d".into());
    }
    Ok(duration)
}

#[derive(Subcommand)]
enum BenchAction {
    /// Seed public extensions for the search benchmark.
    SeedExtensions {
        /// How many made-up ones (without `--from`).
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// A catalogue to seed instead: a TSV of `name`, `description`, `downloads` with a
        /// header line.
        #[arg(long)]
        from: Option<std::path::PathBuf>,
        /// Writers at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Issue licenses through the licensing service and write their keys to a file.
    SeedLicenses {
        /// How many.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Issues in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Where to write the keys, one per line.
        #[arg(long)]
        keys_file: std::path::PathBuf,
    },
}

/// What `migrate` does.
#[derive(Subcommand, Debug, Clone, Copy)]
pub enum MigrateAction {
    /// Apply pending migrations (all, or N).
    Up {
        /// How many to apply.
        #[arg(short = 'n', long)]
        steps: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or N).
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop everything and apply all migrations from scratch. Destroys all data.
    Fresh,
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account (how the first admin is made).
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (visible in the process list; prefer --password-stdin).
        #[arg(
            long,
            conflicts_with = "password_stdin",
            required_unless_present = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The account's role.
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    User,
    Support,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::User => Role::User,
            RoleArg::Support => Role::Support,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Parses the command line and runs it.
#[must_use]
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.settings.log_format, &cli.settings.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(execute(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> Result<(), String> {
    let mut settings = cli.settings;
    if !matches!(cli.command, None | Some(Command::Serve { .. })) {
        // One-shot commands validate nothing: no need to load licenses into memory.
        settings.validation_cache = false;
    }
    match cli.command.unwrap_or(Command::Serve { migrate: false }) {
        Command::Serve { migrate } => {
            let policy = if migrate {
                MigrationPolicy::Apply
            } else {
                MigrationPolicy::Default
            };
            let server = app::start(settings, policy)
                .await
                .map_err(|e| e.to_string())?;
            server.stop_on_signals();
            server.wait().await.map_err(|e| e.to_string())
        }
        Command::Openapi => {
            let document = crate::api_routes::openapi_document()
                .to_pretty_json()
                .map_err(|e| e.to_string())?;
            println!("{document}");
            Ok(())
        }
        Command::Migrate { action } => migrate(&settings, action).await.map_err(|e| e.to_string()),
        Command::User {
            action:
                UserAction::Create {
                    email,
                    password,
                    password_stdin,
                    role,
                    name,
                },
        } => {
            let password = match password {
                Some(password) if !password_stdin => password,
                _ => read_password_line()?,
            };
            create_user(&settings, &email, &password, name.as_deref(), role.into()).await
        }
        Command::Billing {
            action: BillingAction::Reconcile { since },
        } => reconcile(&settings, since).await,
        Command::Bench {
            action:
                BenchAction::SeedExtensions {
                    count,
                    from,
                    concurrency,
                },
        } => {
            let source = match from {
                Some(path) => crate::bench_extensions::Source::Catalogue(path),
                None => crate::bench_extensions::Source::MadeUp(count),
            };
            crate::bench_extensions::seed_extensions(&settings, source, concurrency).await
        }
        Command::Bench {
            action:
                BenchAction::SeedLicenses {
                    count,
                    concurrency,
                    keys_file,
                },
        } => crate::bench_seed::seed_licenses(&settings, count, concurrency, &keys_file).await,
    }
}

/// Runs a migration action against the configured database and prints the outcome.
///
/// # Errors
/// When the database cannot be opened or a migration fails.
pub async fn migrate(settings: &Settings, action: MigrateAction) -> Result<(), StartupError> {
    let database = app::open_database(settings).await?;
    match action {
        MigrateAction::Up { steps } => database.migrate_up(steps).await?,
        MigrateAction::Down { steps } => database.migrate_down(Some(steps)).await?,
        MigrateAction::Fresh => database.migrate_fresh().await?,
        MigrateAction::Status => {}
    }
    for (name, applied) in database.migration_status().await? {
        println!("{} {name}", if applied { "applied" } else { "pending" });
    }
    database.close().await?;
    Ok(())
}

fn read_password_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn create_user(
    settings: &Settings,
    email: &str,
    password: &str,
    name: Option<&str>,
    role: Role,
) -> Result<(), String> {
    let database = app::open_database(settings)
        .await
        .map_err(|e| e.to_string())?;
    app::prepare_schema(&database, MigrationPolicy::Default)
        .await
        .map_err(|e| e.to_string())?;
    let state = app::build_state(settings, database)
        .await
        .map_err(|e| e.to_string())?;
    let registration = devforge_identity::Registration {
        email,
        password,
        name,
    };
    let user = state
        .identity
        .create_user(registration, role)
        .await
        .map_err(|e| e.to_string())?;
    println!("created {} account {} ({})", user.role, user.email, user.id);
    Ok(())
}

async fn reconcile(settings: &Settings, since: chrono::Duration) -> Result<(), String> {
    let database = app::open_database(settings)
        .await
        .map_err(|e| e.to_string())?;
    app::prepare_schema(&database, MigrationPolicy::Default)
        .await
        .map_err(|e| e.to_string())?;
    let state = app::build_state(settings, database)
        .await
        .map_err(|e| e.to_string())?;
    let billing = state
        .billing
        .ok_or("payments are not configured: set DEVFORGE_STRIPE_SECRET_KEY")?;
    let from = chrono::Utc::now() - since;
    let report = billing
        .reconcile(from.timestamp())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "read {} events since {from}, applied {} not seen before, issued {} missing licenses",
        report.seen, report.applied, report.fulfilled
    );
    if report.truncated {
        println!(
            "more events than one run reads were in the window: run again, or with a shorter --since"
        );
    }
    if report.failed > 0 {
        return Err(format!(
            "{} paid payments could not be fulfilled (see the log); the next run retries them",
            report.failed
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_take_a_unit_and_stay_within_stripes_thirty_days() {
        assert_eq!(parse_duration("90s"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse_duration("3d"), Ok(chrono::Duration::days(3)));
        assert_eq!(parse_duration("12h"), Ok(chrono::Duration::hours(12)));
        for bad in ["", "3", "d", "0m", "-1h", "31d", "3w", "x1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
