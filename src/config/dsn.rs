//! Which database a DSN names, checked when the configuration loads (and used by persistence to
//! connect).

/// Which database a DSN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DsnKind {
    /// A SQLite file; the string is the sqlx URL.
    SqliteFile(String),
    /// `memory`: an in-memory SQLite database private to this process.
    Memory,
    /// PostgreSQL; the string is the sqlx URL.
    Postgres(String),
}

impl DsnKind {
    pub fn parse(dsn: &str) -> std::result::Result<DsnKind, String> {
        let dsn = dsn.trim();
        let scheme = dsn.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        // CockroachDB speaks the PostgreSQL wire protocol but not its SQL (no LISTEN/NOTIFY, other
        // locking), so its DSNs (all of Kratos's spellings) are refused rather than half-served.
        if matches!(
            scheme.as_deref(),
            Some("cockroach" | "cockroachdb" | "crdb")
        ) {
            return Err(
                "CockroachDB is not supported yet; use postgres://… (PostgreSQL) or sqlite://… (SQLite)"
                    .into(),
            );
        }
        if scheme.as_deref() == Some("mysql") {
            return Err(
                "MySQL is not supported yet; use postgres://… (PostgreSQL) or sqlite://… (SQLite)"
                    .into(),
            );
        }
        if dsn == "memory" || dsn.contains(":memory:") || dsn.contains("mode=memory") {
            return Ok(DsnKind::Memory);
        }
        if let Some(rest) = dsn
            .strip_prefix("postgres://")
            .or_else(|| dsn.strip_prefix("postgresql://"))
        {
            if rest.is_empty() {
                return Err(format!("{dsn:?} names no PostgreSQL server"));
            }
            let url = url::Url::parse(&format!("postgres://{rest}"))
                .map_err(|e| format!("{dsn:?} is not a valid PostgreSQL URL: {e}"))?;
            // Kratos's pool parameters are not connection parameters; drop them.
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !k.starts_with("max_") && !k.starts_with("min_"))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut url = url.clone();
            url.set_query(None);
            if !kept.is_empty() {
                url.query_pairs_mut().extend_pairs(kept);
            }
            return Ok(DsnKind::Postgres(url.to_string()));
        }
        if let Some(rest) = dsn
            .strip_prefix("sqlite://")
            .or_else(|| dsn.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(format!("{dsn:?} names no SQLite file"));
            }
            return Ok(DsnKind::SqliteFile(format!("sqlite://{path}?mode=rwc")));
        }
        Err(format!(
            "{dsn:?} is not a supported DSN (postgres://, sqlite://, or memory)"
        ))
    }
}
