//! The `ostiary` command line: `serve`, `migrate sql`, `version`, mirroring Kratos's `cmd/`.

mod migrate;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "ostiary",
    version,
    about = "Identity and session server speaking the Ory Kratos APIs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the public and admin APIs.
    Serve(ServeArgs),
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        what: MigrateWhat,
    },
    /// Delete expired data.
    Cleanup {
        #[command(subcommand)]
        what: CleanupWhat,
    },
    /// Outgoing messages.
    Courier {
        #[command(subcommand)]
        what: CourierWhat,
    },
    /// Print the version.
    Version,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Configuration file (YAML or JSON); repeat to merge several, later ones win.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<PathBuf>,
    /// Development mode: no config needed, SQLite file, migrations applied, insecure cookies allowed.
    #[arg(long)]
    pub dev: bool,
    /// Accepted for compatibility with Kratos's flags (Ostiary has no watcher).
    #[arg(long, hide = true)]
    pub watch_courier: bool,
}

#[derive(Subcommand, Debug)]
pub enum MigrateWhat {
    /// Apply the SQL migrations to the database.
    Sql(MigrateArgs),
}

#[derive(Subcommand, Debug)]
pub enum CleanupWhat {
    /// Delete expired flows, sessions, codes, stored errors and old sent messages from the database.
    Sql(CleanupArgs),
}

#[derive(clap::Args, Debug)]
pub struct CleanupArgs {
    /// The database URL (postgres://…, sqlite://…).
    pub dsn: Option<String>,
    /// Read the database URL from the DSN environment variable.
    #[arg(short = 'e', long = "read-from-env")]
    pub read_from_env: bool,
    /// Keep rows that expired less than this long ago (Go duration, e.g. 24h).
    #[arg(long = "keep-last", default_value = "0s")]
    pub keep_last: String,
    /// Rows deleted per statement.
    #[arg(long = "batch-size", default_value_t = 100)]
    pub batch_size: i64,
    /// Pause between batches (Go duration).
    #[arg(long = "sleep-between-batches", default_value = "0s")]
    pub sleep: String,
    /// Configuration file(s) to read `dsn` from.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CourierWhat {
    /// Deliver queued messages until stopped (a separate worker beside `serve`).
    Watch(ServeArgs),
}

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The database URL (postgres://…, sqlite://…).
    pub dsn: Option<String>,
    /// Read the database URL from the DSN environment variable.
    #[arg(short = 'e', long = "read-from-env")]
    pub read_from_env: bool,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Configuration file(s) to read `dsn` from.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<PathBuf>,
}

pub fn run(cli: Cli) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Migrate {
                what: MigrateWhat::Sql(args),
            } => migrate::run(args).await,
            Command::Cleanup {
                what: CleanupWhat::Sql(args),
            } => migrate::cleanup(args).await,
            Command::Courier {
                what: CourierWhat::Watch(args),
            } => serve::watch_courier(args).await,
            Command::Version => {
                println!("Version: {}", env!("CARGO_PKG_VERSION"));
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| {
            tracing_subscriber::EnvFilter::try_new(
                std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into()),
            )
        })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
