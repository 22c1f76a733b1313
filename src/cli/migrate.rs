//! `ostiary migrate sql [DSN] [-e] [--yes]`: apply the embedded migrations; running it twice is a
//! no-op.

use super::MigrateArgs;
use crate::persistence::{DsnKind, Persister};
use std::io::{BufRead, Write};

/// The DSN from the argument, else (with `-e`) the DSN environment variable, else the `dsn` of the
/// configuration files (`-c`, with the environment applied). Kratos's quickstart runs
/// `-c kratos.yml migrate sql -e --yes` with DSN set; `-e` without DSN reads the files' `dsn`.
fn resolve_dsn(
    dsn: Option<String>,
    read_from_env: bool,
    config: &[std::path::PathBuf],
) -> Result<String, String> {
    if let Some(d) = dsn {
        return Ok(d);
    }
    if read_from_env {
        if let Ok(d) = std::env::var("DSN") {
            if !d.trim().is_empty() {
                return Ok(d);
            }
        }
        if config.is_empty() {
            return Err("-e was given but the DSN environment variable is not set".into());
        }
    }
    if !config.is_empty() {
        let loaded =
            crate::config::Config::load(config, crate::config::Flags::default(), std::env::vars())
                .map_err(|e| format!("invalid configuration: {e}"))?;
        loaded.config.dsn.ok_or_else(|| {
            "neither the DSN environment variable nor the configuration sets a dsn".to_string()
        })
    } else {
        Err("give the database URL as an argument, or -e to read it from DSN".into())
    }
}

/// `ostiary cleanup sql`: delete expired data once, in batches.
pub async fn cleanup(
    config: &[std::path::PathBuf],
    args: super::CleanupArgs,
) -> Result<(), String> {
    let dsn = resolve_dsn(args.dsn.clone(), args.read_from_env, config)?;
    let keep = crate::time::parse_duration(&args.keep_last)
        .ok_or("--keep-last must be a duration such as 24h")?;
    let pause = crate::time::parse_duration(&args.sleep)
        .and_then(|d| d.to_std().ok())
        .ok_or("--sleep-between-batches must be a duration such as 1s")?;
    let kind = DsnKind::parse(&dsn).map_err(|e| format!("config key dsn: {e}"))?;
    let persister = Persister::connect(&kind)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let cleaned = persister
        .cleanup(chrono::Utc::now() - keep, args.batch_size.max(1), pause)
        .await
        .map_err(|e| format!("cleanup failed: {e}"))?;
    persister.close().await;
    println!(
        "Deleted {} rows: {} flows, {} sessions, {} codes, {} errors, {} sent messages, {} rate-limit counters.",
        cleaned.total(),
        cleaned.flows,
        cleaned.sessions,
        cleaned.codes,
        cleaned.errors,
        cleaned.messages,
        cleaned.rate_limits
    );
    Ok(())
}

pub async fn run(config: &[std::path::PathBuf], args: MigrateArgs) -> Result<(), String> {
    let dsn = resolve_dsn(args.dsn.clone(), args.read_from_env, config)?;
    let kind = DsnKind::parse(&dsn).map_err(|e| format!("config key dsn: {e}"))?;
    let persister = Persister::connect(&kind)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let pending = persister
        .pending_migrations()
        .await
        .map_err(|e| format!("cannot read the migration state: {e}"))?;
    if pending.is_empty() {
        println!("All migrations are already applied.");
        return Ok(());
    }
    println!(
        "{} migration(s) will be applied: {pending:?}",
        pending.len()
    );
    if !args.yes {
        print!("Do you want to apply the planned migrations? [y/n]: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| e.to_string())?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err("Aborting: no migrations applied.".into());
        }
    }
    let n = persister
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    persister.close().await;
    println!("Applied {n} migration(s).");
    Ok(())
}
