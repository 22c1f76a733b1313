//! The `ostiary` command line: `serve`, `migrate sql`, `version`, mirroring Kratos's `cmd/`.
//! `-c/--config` belongs to the root command as in Kratos, so `ostiary -c kratos.yml migrate sql
//! -e --yes` and `ostiary serve -c kratos.yml` both work.

mod logging;
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
    /// Configuration file (YAML or JSON); repeat to merge several, later ones win. Accepted
    /// before or after the subcommand.
    #[arg(short = 'c', long = "config", global = true)]
    pub config: Vec<PathBuf>,
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
    /// Development mode: no config needed, SQLite file, migrations applied, insecure cookies allowed.
    #[arg(long)]
    pub dev: bool,
    /// Accepted as Kratos's flag; the courier runs inside `serve` with or without it.
    #[arg(long)]
    pub watch_courier: bool,
    /// Accepted as Kratos's flag; Ostiary sends no usage statistics, so there is nothing to opt out of.
    #[arg(long)]
    pub sqa_opt_out: bool,
}

impl ServeArgs {
    fn flags(&self) -> crate::config::Flags {
        crate::config::Flags {
            dev: self.dev,
            sqa_opt_out: self.sqa_opt_out,
            watch_courier: self.watch_courier,
        }
    }
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
    /// Read the database URL from the configuration: the DSN environment variable, else the
    /// `dsn` of the files given with -c.
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
    /// Read the database URL from the configuration: the DSN environment variable, else the
    /// `dsn` of the files given with -c.
    #[arg(short = 'e', long = "read-from-env")]
    pub read_from_env: bool,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
}

pub fn run(cli: Cli) -> ExitCode {
    logging::init(&logging::settings(&cli.config, std::env::vars()));
    let files = cli.config;
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
            Command::Serve(args) => serve::run(&files, args).await,
            Command::Migrate {
                what: MigrateWhat::Sql(args),
            } => migrate::run(&files, args).await,
            Command::Cleanup {
                what: CleanupWhat::Sql(args),
            } => migrate::cleanup(&files, args).await,
            Command::Courier {
                what: CourierWhat::Watch(args),
            } => serve::watch_courier(&files, args).await,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("ostiary").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn config_files_are_accepted_before_and_after_the_subcommand() {
        let cli = parse(&["-c", "kratos.yml", "migrate", "sql", "-e", "--yes"]);
        assert_eq!(cli.config, [PathBuf::from("kratos.yml")]);
        assert!(matches!(
            cli.command,
            Command::Migrate {
                what: MigrateWhat::Sql(MigrateArgs {
                    read_from_env: true,
                    yes: true,
                    ..
                })
            }
        ));
        let cli = parse(&[
            "serve",
            "-c",
            "a.yml",
            "--config",
            "b.yml",
            "--dev",
            "--watch-courier",
        ]);
        assert_eq!(cli.config, [PathBuf::from("a.yml"), PathBuf::from("b.yml")]);
        assert!(matches!(
            cli.command,
            Command::Serve(ServeArgs {
                dev: true,
                watch_courier: true,
                sqa_opt_out: false
            })
        ));
        let cli = parse(&["--config", "a.yml", "serve", "--sqa-opt-out"]);
        assert_eq!(cli.config, [PathBuf::from("a.yml")]);
        assert!(matches!(
            cli.command,
            Command::Serve(ServeArgs {
                sqa_opt_out: true,
                ..
            })
        ));
    }
}
