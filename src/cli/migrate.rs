//! `ostiary migrate sql [DSN] [-e] [--yes]`: apply the embedded migrations; running it twice is a
//! no-op.

use super::MigrateArgs;
use crate::persistence::{DsnKind, Persister};
use std::io::{BufRead, Write};

pub async fn run(args: MigrateArgs) -> Result<(), String> {
    let dsn = if let Some(d) = args.dsn.clone() {
        d
    } else if args.read_from_env {
        std::env::var("DSN")
            .map_err(|_| "-e was given but the DSN environment variable is not set".to_string())?
    } else if !args.config.is_empty() {
        let loaded = crate::config::Config::load(&args.config, false, std::env::vars())
            .map_err(|e| format!("invalid configuration: {e}"))?;
        loaded
            .config
            .dsn
            .ok_or_else(|| "the configuration sets no dsn".to_string())?
    } else {
        return Err("give the database URL as an argument, or -e to read it from DSN".into());
    };
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
