//! The `devforge` command line: `serve` (the default), `migrate`, `user create`.

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
    /// Load-test helpers (for `cargo xtask bench`; never on a production database).
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        action: BenchAction,
    },
}

#[derive(Subcommand)]
enum BenchAction {
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
