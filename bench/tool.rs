//! The benchmark's helper binary (issue 5), one executable with subcommands so that `bench/run.sh`
//! links one example besides the baseline:
//!
//! - `seed`: the fast seeding path. Writes identities (with password credentials, identifiers and
//!   addresses) and sessions straight into a migrated database, in the exact shape Ostiary's
//!   persistence writes them (schema in `migrations/`), with token digests from
//!   `ostiary::session::token::digest` and session cookies signed by
//!   `ostiary::http::session_cookie::encode` itself (through a throw-away in-memory registry built
//!   with the benchmark's cookie secret), so the cookie format can never drift from the server's.
//!   SQLite: one connection, `synchronous = OFF`, a large page cache, multi-row prepared INSERTs in
//!   big transactions. PostgreSQL: `COPY … FROM STDIN`.
//! - `hasher`: the raw password-hasher rate at given parameters on N threads, calling
//!   `ostiary::hash::verify_password` in a loop (what a login costs without HTTP and SQL).
//! - `ready`: start a server process and time process start → `/health/ready` answering 200
//!   (polled every millisecond over a raw TCP connection), then the idle RSS one second later.
//! - `flows`: create native login flows through the API (for the login load, which spends each
//!   flow once).
//! - `walk`: follow the admin session list's `Link: rel="next"` from the first page, timing each.
//! - `sql`: run one SQL statement (re-activating revoked sessions between runs, CREATE/DROP
//!   DATABASE), so the harness needs neither `sqlite3` nor `psql`.
//! - `report`: medians, ratios to the baseline and the issue's targets (met or not) from the raw
//!   `results.jsonl` of a run, as Markdown; `splice` puts that between the `results` markers of
//!   BENCHMARKS.md.

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ostiary::hash::{Algorithm, Argon2Params, HasherConfig};
use ostiary::identity::{RecoveryAddress, VerifiableAddress};
use rand::{Rng, RngCore};
use serde_json::json;
use sqlx::{ConnectOptions, Connection};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Instant;
use uuid::Uuid;

/// `--key value` pairs after the subcommand.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(v: &[String]) -> Result<Args> {
        let mut m = HashMap::new();
        let mut it = v.iter();
        while let Some(k) = it.next() {
            let k = k
                .strip_prefix("--")
                .ok_or_else(|| anyhow!("expected --key, got {k:?}"))?;
            let v = it.next().ok_or_else(|| anyhow!("--{k} needs a value"))?;
            m.insert(k.to_string(), v.clone());
        }
        Ok(Args(m))
    }
    fn get(&self, k: &str) -> Result<&str> {
        self.0
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("missing --{k}"))
    }
    fn opt(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: T) -> Result<T> {
        match self.0.get(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| anyhow!("--{k}: not a number: {v}")),
        }
    }
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        bail!("usage: bench_tool seed|hasher|ready|flows|walk|sql --key value …");
    };
    let args = Args::parse(&argv[1..])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cmd.as_str() {
        "seed" => rt.block_on(seed(&args)),
        "hasher" => hasher(&args),
        "ready" => ready(&args),
        "flows" => rt.block_on(flows(&args)),
        "walk" => rt.block_on(walk(&args)),
        "sql" => rt.block_on(sql(&args)),
        "report" => report(&args),
        "splice" => splice(&args),
        other => bail!("unknown subcommand {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// seed

#[derive(Clone)]
enum V {
    T(String),
    I(i64),
    N,
}

enum Db {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Db {
    async fn open(dsn: &str) -> Result<Db> {
        if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
            return Ok(Db::Pg(sqlx::PgConnection::connect(dsn).await?));
        }
        let path = dsn
            .strip_prefix("sqlite://")
            .or_else(|| dsn.strip_prefix("sqlite:"))
            .ok_or_else(|| anyhow!("unsupported DSN {dsn}"))?;
        let path = path.split('?').next().unwrap_or_default();
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Off)
            .pragma("cache_size", "-1048576")
            .pragma("temp_store", "memory")
            .foreign_keys(false);
        Ok(Db::Sqlite(opts.connect().await?))
    }

    async fn begin(&mut self) -> Result<()> {
        if let Db::Sqlite(c) = self {
            sqlx::query("BEGIN").execute(&mut *c).await?;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        if let Db::Sqlite(c) = self {
            sqlx::query("COMMIT").execute(&mut *c).await?;
        }
        Ok(())
    }

    /// Insert rows: multi-row INSERTs on SQLite (inside the caller's transaction), COPY on PostgreSQL.
    async fn insert(&mut self, table: &str, cols: &[&str], rows: &[Vec<V>]) -> Result<()> {
        match self {
            Db::Sqlite(c) => {
                let per = (30_000 / cols.len()).min(500);
                for chunk in rows.chunks(per) {
                    let one = format!("({})", vec!["?"; cols.len()].join(","));
                    let sql = format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        cols.join(","),
                        vec![one; chunk.len()].join(",")
                    );
                    let mut q = sqlx::query(&sql);
                    for row in chunk {
                        for v in row {
                            q = match v {
                                V::T(s) => q.bind(s.as_str()),
                                V::I(i) => q.bind(*i),
                                V::N => q.bind(Option::<String>::None),
                            };
                        }
                    }
                    q.execute(&mut *c).await?;
                }
            }
            Db::Pg(c) => {
                let mut buf = String::with_capacity(rows.len() * 256);
                for row in rows {
                    for (i, v) in row.iter().enumerate() {
                        if i > 0 {
                            buf.push('\t');
                        }
                        match v {
                            V::T(s) => {
                                for ch in s.chars() {
                                    match ch {
                                        '\\' => buf.push_str("\\\\"),
                                        '\t' => buf.push_str("\\t"),
                                        '\n' => buf.push_str("\\n"),
                                        '\r' => buf.push_str("\\r"),
                                        c => buf.push(c),
                                    }
                                }
                            }
                            V::I(i) => buf.push_str(&i.to_string()),
                            V::N => buf.push_str("\\N"),
                        }
                    }
                    buf.push('\n');
                }
                let mut copy = c
                    .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", cols.join(",")))
                    .await?;
                copy.send(buf.into_bytes()).await?;
                copy.finish().await?;
            }
        }
        Ok(())
    }
}

/// A v4 UUID from a fast RNG (the seeding of 1M rows must not make 2M getrandom calls).
fn fast_uuid(rng: &mut impl RngCore) -> Uuid {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// A session token in Ostiary's format (`ory_st_` + 32 alphanumerics), from a fast RNG.
fn fast_token(rng: &mut impl RngCore, prefix: &str) -> String {
    let body: String = rng
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{prefix}{body}")
}

fn rfc(t: DateTime<Utc>) -> String {
    ostiary::time::rfc3339(&t)
}

/// A registry used only to sign cookies with the server's own code and the benchmark's secret.
async fn cookie_registry(secret: &str) -> Result<ostiary::registry::Registry> {
    let config = ostiary::config::Config::from_value(json!({
        "dev": true,
        "dsn": "memory",
        "serve": {
            "public": {"base_url": "http://127.0.0.1:1/"},
            "admin": {"base_url": "http://127.0.0.1:2/"}
        },
        "secrets": {"cookie": [secret]},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}}
    }))
    .map_err(|e| anyhow!("{e}"))?;
    ostiary::registry::Registry::build(config)
        .await
        .map_err(|e| anyhow!("{e}"))
}

const SESSION_COLS: &[&str] = &[
    "id",
    "token_hash",
    "logout_token_hash",
    "identity_id",
    "active",
    "aal",
    "authentication_methods",
    "issued_at",
    "authenticated_at",
    "expires_at",
    "devices",
    "created_at",
    "updated_at",
];

/// `seed --dsn D --start I --identities N --sessions-per K --session-start S --t0 MICROS
///  --tokens-out F [--token-every E] [--big B --big-out F] [--cursors-out F --depths a,b,…]
///  --cookie-secret S --password P [--bcrypt-cost C]`
///
/// Identity `i` (email `bench-<i>@example.test`) gets sessions with global indexes
/// `S + (i - I) * K + j`; a session's `created_at` is `t0 - index` µs, so the admin list's order
/// (`created_at DESC, id ASC`) is the order of the global index and a keyset cursor for any depth
/// can be written here (in the server's token format) without walking the list.
async fn seed(a: &Args) -> Result<()> {
    let started = Instant::now();
    let dsn = a.get("dsn")?;
    let start: u64 = a.num("start", 0)?;
    let n: u64 = a.num("identities", 1000)?;
    let per: u64 = a.num("sessions-per", 10)?;
    let session_start: u64 = a.num("session-start", 0)?;
    let t0: i64 = a.get("t0")?.parse()?;
    let every: u64 = a.num("token-every", 1)?;
    let big: u64 = a.num("big", 0)?;
    let password = a.get("password")?;
    let cost: u32 = a.num("bcrypt-cost", 12)?;
    let depths: Vec<u64> = a
        .opt("depths")
        .map(|d| d.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let registry = cookie_registry(a.get("cookie-secret")?).await?;

    let hasher = HasherConfig {
        algorithm: Algorithm::Bcrypt,
        bcrypt_cost: cost,
        argon2: Argon2Params {
            memory_kib: 65536,
            iterations: 1,
            parallelism: 1,
            salt_length: 16,
            key_length: 32,
        },
    };
    let hash = ostiary::hash::hash_password(&hasher, password.as_bytes())
        .map_err(|e| anyhow!("hash: {e}"))?;
    let cred_config = json!({ "hashed_password": hash }).to_string();

    let now = Utc::now();
    let expires = now + Duration::days(30);
    let expires_us = expires.timestamp_micros();
    let ts = |us: i64| Utc.timestamp_micros(us).single().unwrap_or(now);
    let mut rng = rand::thread_rng();
    let mut db = Db::open(dsn).await?;
    let mut tokens = std::io::BufWriter::new(std::fs::File::create(a.get("tokens-out")?)?);
    let mut cursors = match a.opt("cursors-out") {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let mut big_out = match a.opt("big-out") {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };

    // Identities are written in chunks so memory stays flat at 1M sessions.
    let chunk_ids: u64 = 5_000;
    let total_ids = n + if big > 0 { 1 } else { 0 };
    let mut written_sessions = 0u64;
    let mut first = 0u64;
    while first < total_ids {
        let last = (first + chunk_ids).min(total_ids);
        let mut identities = Vec::new();
        let mut creds = Vec::new();
        let mut idents = Vec::new();
        let mut vaddrs = Vec::new();
        let mut raddrs = Vec::new();
        let mut sessions = Vec::new();
        db.begin().await?;
        for k in first..last {
            let i = start + k;
            let is_big = big > 0 && k == n;
            let email = format!("bench-{i}@example.test");
            let id = fast_uuid(&mut rng);
            let created = t0 - 1_000_000 - k as i64;
            let c = ts(created);
            let va = VerifiableAddress {
                id: fast_uuid(&mut rng),
                value: email.clone(),
                verified: false,
                via: "email".into(),
                status: "pending".into(),
                verified_at: None,
                created_at: c,
                updated_at: c,
            };
            let ra = RecoveryAddress {
                id: fast_uuid(&mut rng),
                value: email.clone(),
                via: "email".into(),
                created_at: c,
                updated_at: c,
            };
            let addresses = json!({"verifiable": [&va], "recovery": [&ra]}).to_string();
            identities.push(vec![
                V::T(id.to_string()),
                V::T("default".into()),
                V::T("active".into()),
                V::I(created),
                V::T(json!({ "email": email }).to_string()),
                V::N,
                V::N,
                V::N,
                V::N,
                V::T(addresses),
                V::I(created),
                V::I(created),
            ]);
            creds.push(vec![
                V::T(fast_uuid(&mut rng).to_string()),
                V::T(id.to_string()),
                V::T("password".into()),
                V::T(cred_config.clone()),
                V::I(0),
                V::I(created),
                V::I(created),
            ]);
            idents.push(vec![
                V::T(fast_uuid(&mut rng).to_string()),
                V::T(id.to_string()),
                V::T("password".into()),
                V::T(email.clone()),
                V::I(0),
                V::I(created),
                V::I(created),
            ]);
            vaddrs.push(vec![
                V::T(va.id.to_string()),
                V::T(id.to_string()),
                V::T("email".into()),
                V::T(email.clone()),
                V::I(0),
                V::T("pending".into()),
                V::N,
                V::I(0),
                V::I(created),
                V::I(created),
            ]);
            raddrs.push(vec![
                V::T(ra.id.to_string()),
                V::T(id.to_string()),
                V::T("email".into()),
                V::T(email.clone()),
                V::I(0),
                V::I(created),
                V::I(created),
            ]);
            let count = if is_big { big } else { per };
            for j in 0..count {
                let gidx = if is_big {
                    session_start + n * per + j
                } else {
                    session_start + k * per + j
                };
                let sid = fast_uuid(&mut rng);
                let token = fast_token(&mut rng, ostiary::session::token::SESSION_PREFIX);
                let logout = fast_token(&mut rng, ostiary::session::token::LOGOUT_PREFIX);
                let created_s = t0 - gidx as i64;
                let methods = json!([{"method": "password", "aal": "aal1",
                    "completed_at": rfc(ts(created_s))}])
                .to_string();
                let devices = json!([{"id": fast_uuid(&mut rng), "ip_address": "127.0.0.1",
                    "user_agent": "ostiary-bench", "location": null}])
                .to_string();
                sessions.push(vec![
                    V::T(sid.to_string()),
                    V::T(ostiary::session::token::digest(&token)),
                    V::T(ostiary::session::token::digest(&logout)),
                    V::T(id.to_string()),
                    V::I(1),
                    V::T("aal1".into()),
                    V::T(methods),
                    V::I(created_s),
                    V::I(created_s),
                    V::I(expires_us),
                    V::T(devices),
                    V::I(created_s),
                    V::I(created_s),
                ]);
                let local = gidx - session_start;
                if is_big {
                    if let Some(b) = big_out.as_mut() {
                        if j == 0 {
                            let cookie =
                                ostiary::http::session_cookie::encode(&registry, &token, expires);
                            writeln!(b, "{token}\t{cookie}\t{id}\t{sid}\t{email}")?;
                        }
                    }
                } else if local.is_multiple_of(every) {
                    let cookie = ostiary::http::session_cookie::encode(&registry, &token, expires);
                    writeln!(tokens, "{token}\t{cookie}\t{id}\t{sid}\t{email}")?;
                }
                // A cursor naming this row makes the next page start right after it.
                if let Some(cur) = cursors.as_mut() {
                    if depths.contains(&(gidx + 1)) {
                        let token = base64::engine::general_purpose::STANDARD_NO_PAD
                            .encode(format!("created_at={created_s}/id={sid}"));
                        writeln!(cur, "{}\t{token}\t{sid}", gidx + 1)?;
                    }
                }
            }
        }
        db.insert(
            "identities",
            &[
                "id",
                "schema_id",
                "state",
                "state_changed_at",
                "traits",
                "metadata_public",
                "metadata_admin",
                "external_id",
                "organization_id",
                "addresses",
                "created_at",
                "updated_at",
            ],
            &identities,
        )
        .await?;
        db.insert(
            "identity_credentials",
            &[
                "id",
                "identity_id",
                "type",
                "config",
                "version",
                "created_at",
                "updated_at",
            ],
            &creds,
        )
        .await?;
        db.insert(
            "identity_credential_identifiers",
            &[
                "id",
                "identity_id",
                "credential_type",
                "identifier",
                "position",
                "created_at",
                "updated_at",
            ],
            &idents,
        )
        .await?;
        db.insert(
            "identity_verifiable_addresses",
            &[
                "id",
                "identity_id",
                "via",
                "value",
                "verified",
                "status",
                "verified_at",
                "position",
                "created_at",
                "updated_at",
            ],
            &vaddrs,
        )
        .await?;
        db.insert(
            "identity_recovery_addresses",
            &[
                "id",
                "identity_id",
                "via",
                "value",
                "position",
                "created_at",
                "updated_at",
            ],
            &raddrs,
        )
        .await?;
        db.insert("sessions", SESSION_COLS, &sessions).await?;
        db.commit().await?;
        written_sessions += sessions.len() as u64;
        first = last;
    }
    tokens.flush()?;
    if let Some(c) = cursors.as_mut() {
        c.flush()?;
    }
    if let Some(b) = big_out.as_mut() {
        b.flush()?;
    }
    // PostgreSQL: fresh planner statistics, as autovacuum keeps them in production. SQLite: none
    // unless asked (`--analyze 1`): Ostiary never runs ANALYZE, and with the bundled SQLite's STAT4
    // statistics every statement whose bound value might change the plan is re-prepared on each
    // execution (see BENCHMARKS.md, profiling notes).
    let analyze = a.num("analyze", 0u8)? == 1;
    match &mut db {
        Db::Sqlite(c) => {
            if analyze {
                sqlx::query("ANALYZE").execute(&mut *c).await?;
            }
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *c)
                .await?;
        }
        Db::Pg(c) => {
            sqlx::query("ANALYZE").execute(&mut *c).await?;
        }
    }
    println!(
        "{}",
        json!({"identities": total_ids, "sessions": written_sessions,
               "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0})
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// hasher

/// `hasher --algorithm bcrypt --cost 12 --threads 2 --seconds 5` (or `--algorithm argon2 --memory-kib
/// --iterations --parallelism`): verifications per second of a correct password.
fn hasher(a: &Args) -> Result<()> {
    let algorithm = match a.opt("algorithm").unwrap_or("bcrypt") {
        "argon2" => Algorithm::Argon2,
        _ => Algorithm::Bcrypt,
    };
    let cfg = HasherConfig {
        algorithm,
        bcrypt_cost: a.num("cost", 12)?,
        argon2: Argon2Params {
            memory_kib: a.num("memory-kib", 131072)?,
            iterations: a.num("iterations", 1)?,
            parallelism: a.num("parallelism", 4)?,
            salt_length: 16,
            key_length: 32,
        },
    };
    let threads: usize = a.num("threads", 2)?;
    let seconds: f64 = a.num("seconds", 5.0)?;
    let password = b"bench-password-0123".to_vec();
    let hash = ostiary::hash::hash_password(&cfg, &password).map_err(|e| anyhow!("hash: {e}"))?;
    let start = Instant::now();
    let deadline = start + std::time::Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            let password = password.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    assert!(ostiary::hash::verify_password(&password, &hash).unwrap_or(false));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"threads": threads, "verifications": total, "seconds": elapsed,
               "rate": total as f64 / elapsed})
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ready

fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let n = s.read(&mut buf[got..]).ok()?;
        if n == 0 {
            break;
        }
        got += n;
    }
    std::str::from_utf8(&buf[..got])
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

fn rss_kib(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `ready --bin B --config C --addr 127.0.0.1:P [--runs 5] [--log F]`: one JSON line per run.
fn ready(a: &Args) -> Result<()> {
    let bin = a.get("bin")?;
    let config = a.get("config")?;
    let addr = a.get("addr")?;
    let runs: usize = a.num("runs", 5)?;
    for run in 0..runs {
        let log = match a.opt("log") {
            Some(p) => std::process::Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => std::process::Stdio::null(),
        };
        let start = Instant::now();
        let mut child = std::process::Command::new(bin)
            .args(["serve", "-c", config])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn {bin}"))?;
        let mut ready_ms = None;
        while start.elapsed() < std::time::Duration::from_secs(20) {
            if let Some(200) = http_status(addr, "/health/ready") {
                ready_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!("server exited during start: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        let rss = rss_kib(child.id(), "VmRSS:");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let t = Instant::now();
        loop {
            if child.try_wait()?.is_some() {
                break;
            }
            if t.elapsed() > std::time::Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        println!(
            "{}",
            json!({"run": run + 1, "ready_ms": ready_ms, "idle_rss_kib": rss})
        );
        if ready_ms.is_none() {
            bail!("/health/ready did not answer 200 within 20 s");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// flows, walk, sql

/// `flows --url http://127.0.0.1:P --n 600 --out F`: native login flow ids, one a line.
async fn flows(a: &Args) -> Result<()> {
    use futures::StreamExt;
    let url = format!("{}/self-service/login/api", a.get("url")?);
    let n: usize = a.num("n", 600)?;
    let client = reqwest::Client::new();
    let ids: Vec<Result<String>> = futures::stream::iter(0..n)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let v: serde_json::Value = client.get(&url).send().await?.json().await?;
                v["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("no flow id in {v}"))
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut out = std::io::BufWriter::new(std::fs::File::create(a.get("out")?)?);
    for id in ids {
        writeln!(out, "{}", id?)?;
    }
    out.flush()?;
    Ok(())
}

/// `walk --url http://127.0.0.1:A/admin/sessions?page_size=250 --pages 20`: follow `next` links,
/// one JSON line per page with its latency.
async fn walk(a: &Args) -> Result<()> {
    let mut url = a.get("url")?.to_string();
    let pages: usize = a.num("pages", 20)?;
    let client = reqwest::Client::new();
    let mut depth = 0usize;
    for page in 0..pages {
        let t = Instant::now();
        let res = client.get(&url).send().await?;
        let status = res.status().as_u16();
        let link = res
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body: serde_json::Value = res.json().await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let n = body.as_array().map(Vec::len).unwrap_or(0);
        println!(
            "{}",
            json!({"page": page, "depth": depth, "rows": n, "status": status, "ms": ms})
        );
        depth += n;
        let next = link
            .split(',')
            .find(|p| p.contains("rel=\"next\""))
            .and_then(|p| p.split('<').nth(1))
            .and_then(|p| p.split('>').next());
        match next {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    Ok(())
}

/// `sql --dsn D --query Q`: run one statement, print the rows affected.
async fn sql(a: &Args) -> Result<()> {
    sqlx::any::install_default_drivers();
    let dsn = a.get("dsn")?;
    let dsn = if dsn.starts_with("sqlite://") && !dsn.contains('?') {
        format!("{dsn}?mode=rwc")
    } else {
        dsn.to_string()
    };
    let mut c = sqlx::AnyConnection::connect(&dsn).await?;
    let r = sqlx::query(a.get("query")?).execute(&mut c).await?;
    println!("{}", r.rows_affected());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// report, splice

type Row = serde_json::Value;

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

struct Results(Vec<Row>);

impl Results {
    fn rows<'a>(&'a self, filter: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = &'a Row> + 'a {
        self.0.iter().filter(move |r| {
            filter.iter().all(|(k, v)| match &r[*k] {
                serde_json::Value::String(s) => s == v,
                serde_json::Value::Number(n) => n.to_string() == *v,
                _ => false,
            })
        })
    }
    fn values(&self, filter: &[(&str, &str)], field: &str) -> Vec<f64> {
        self.rows(filter)
            .filter_map(|r| r[field].as_f64())
            .collect()
    }
    fn median(&self, filter: &[(&str, &str)], field: &str) -> Option<f64> {
        median(self.values(filter, field))
    }
    fn backends(&self) -> Vec<String> {
        let mut b: Vec<String> = Vec::new();
        for r in &self.0 {
            if let Some(s) = r["backend"].as_str() {
                if !b.iter().any(|x| x == s) {
                    b.push(s.to_string());
                }
            }
        }
        b
    }
}

fn ms(us: Option<f64>) -> String {
    us.map(|u| format!("{:.2} ms", u / 1000.0))
        .unwrap_or_else(|| "—".into())
}
fn rate(r: Option<f64>) -> String {
    r.map(|r| {
        if r >= 100.0 {
            format!("{r:.0}/s")
        } else {
            format!("{r:.2}/s")
        }
    })
    .unwrap_or_else(|| "—".into())
}
fn mib(kib: Option<f64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k / 1024.0))
        .unwrap_or_else(|| "—".into())
}
fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**met**",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

/// `report --results F --machine F --out F`
fn report(a: &Args) -> Result<()> {
    let text = std::fs::read_to_string(a.get("results")?)?;
    let res = Results(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<std::result::Result<Vec<Row>, _>>()?,
    );
    let machine: Vec<(String, String)> = std::fs::read_to_string(a.get("machine")?)?
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let m = |k: &str| {
        machine
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("?")
    };
    let runs = m("runs");
    let mut o = String::new();
    use std::fmt::Write as _;
    writeln!(
        o,
        "### Run of {} (commit {})\n\n\
         - machine: {} cores ({}), {} memory, kernel {}; {}; {}\n\
         - load average before / after: {} / {}; other busy processes at the start: {}\n\
         - harness time (without the build): {} s; every figure is the median of {runs} runs \
         unless marked otherwise; wrk runs of {} s (login and login storm: {} s)\n",
        m("date_utc"),
        m("commit"),
        m("nproc"),
        m("cpu"),
        m("mem"),
        m("kernel"),
        m("wrk"),
        m("rustc"),
        m("load_before"),
        m("load_after"),
        if m("busy_before").trim().is_empty() {
            "none above 5 % CPU"
        } else {
            m("busy_before")
        },
        m("bench_seconds"),
        m("seconds"),
        m("login_seconds"),
    )?;

    // --- targets ---
    writeln!(
        o,
        "#### Targets\n\n| target | backend | Ostiary | baseline, same run | ratio | verdict |\n\
         | --- | --- | --- | --- | --- | --- |"
    )?;
    for be in res.backends() {
        let be = be.as_str();
        for sc in ["whoami_10k", "whoami_1m"] {
            for v in ["token", "cookie"] {
                let o_rps = res.median(
                    &[
                        ("backend", be),
                        ("scenario", sc),
                        ("server", "ostiary"),
                        ("variant", v),
                    ],
                    "rps",
                );
                let b_rps = res.median(
                    &[
                        ("backend", be),
                        ("scenario", sc),
                        ("server", "baseline"),
                        ("variant", v),
                    ],
                    "rps",
                );
                let o_p99 = res.median(
                    &[
                        ("backend", be),
                        ("scenario", sc),
                        ("server", "ostiary"),
                        ("variant", v),
                    ],
                    "p99_us",
                );
                let b_p99 = res.median(
                    &[
                        ("backend", be),
                        ("scenario", sc),
                        ("server", "baseline"),
                        ("variant", v),
                    ],
                    "p99_us",
                );
                let label = if sc == "whoami_10k" {
                    "10k sessions"
                } else {
                    "1M sessions"
                };
                let ratio = o_rps.zip(b_rps).map(|(x, y)| x / y);
                writeln!(
                    o,
                    "| whoami throughput ≥ 0.6× baseline ({v}, {label}, 64 conns) | {be} | {} | {} | {} | {} |",
                    rate(o_rps),
                    rate(b_rps),
                    ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
                    verdict(ratio.map(|r| r >= 0.6))
                )?;
                writeln!(
                    o,
                    "| whoami p99 ≤ 3 ms ({v}, {label}, 64 conns) | {be} | {} | {} | | {} |",
                    ms(o_p99),
                    ms(b_p99),
                    verdict(o_p99.map(|p| p <= 3000.0))
                )?;
            }
        }
        for v in ["token", "cookie"] {
            let f = |sc: &'static str, srv: &'static str, field: &str| {
                res.median(
                    &[
                        ("backend", be),
                        ("scenario", sc),
                        ("server", srv),
                        ("variant", v),
                    ],
                    field,
                )
            };
            let change = |a: Option<f64>, b: Option<f64>| {
                a.zip(b)
                    .map(|(a, b)| format!("{:+.0} %", (b / a - 1.0) * 100.0))
                    .unwrap_or_default()
            };
            let (r10, r1m) = (
                f("whoami_10k", "ostiary", "rps"),
                f("whoami_1m", "ostiary", "rps"),
            );
            let (b10, b1m) = (
                f("whoami_10k", "baseline", "rps"),
                f("whoami_1m", "baseline", "rps"),
            );
            writeln!(
                o,
                "| 1M-session throughput within 20 % of 10k ({v}) | {be} | {} at 1M vs {} at 10k | {} vs {} ({}) | {} | {} |",
                rate(r1m),
                rate(r10),
                rate(b1m),
                rate(b10),
                change(b10, b1m),
                change(r10, r1m),
                verdict(r10.zip(r1m).map(|(a, b)| b >= 0.8 * a))
            )?;
            let (p10, p1m) = (
                f("whoami_10k", "ostiary", "p99_us"),
                f("whoami_1m", "ostiary", "p99_us"),
            );
            let (q10, q1m) = (
                f("whoami_10k", "baseline", "p99_us"),
                f("whoami_1m", "baseline", "p99_us"),
            );
            writeln!(
                o,
                "| 1M-session p99 within 20 % of 10k ({v}) | {be} | {} at 1M vs {} at 10k | {} vs {} ({}) | {} | {} |",
                ms(p1m),
                ms(p10),
                ms(q1m),
                ms(q10),
                change(q10, q1m),
                change(p10, p1m),
                verdict(p10.zip(p1m).map(|(a, b)| b <= 1.2 * a))
            )?;
        }
        let login = res.median(&[("backend", be), ("scenario", "login")], "rps");
        let raw = res.median(&[("backend", be), ("scenario", "hasher")], "rate");
        let ratio = login.zip(raw).map(|(l, r)| l / r);
        writeln!(
            o,
            "| native login ≥ 0.9× raw hasher rate (bcrypt cost 12) | {be} | {} | raw hasher {} | {} | {} |",
            rate(login),
            rate(raw),
            ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
            verdict(ratio.map(|r| r >= 0.9))
        )?;
        let idle = res.median(
            &[
                ("backend", be),
                ("scenario", "whoami_10k"),
                ("server", "ostiary"),
                ("variant", "token"),
            ],
            "p99_us",
        );
        let storm = res.median(&[("backend", be), ("scenario", "storm_whoami")], "p99_us");
        let ratio = storm.zip(idle).map(|(s, i)| s / i);
        // The baseline's whoami beside nice-19 hashing on every core, against its own idle p99.
        let base_idle = res.median(
            &[
                ("backend", be),
                ("scenario", "whoami_10k"),
                ("server", "baseline"),
                ("variant", "token"),
            ],
            "p99_us",
        );
        let base_storm = res.median(&[("backend", be), ("scenario", "storm_baseline")], "p99_us");
        let base = match (base_storm, base_idle) {
            (Some(s), Some(i)) => format!(
                "{} beside nice-19 hashing (idle {}): {:.2}×",
                ms(Some(s)),
                ms(Some(i)),
                s / i
            ),
            _ => String::new(),
        };
        writeln!(
            o,
            "| whoami p99 during a login storm ≤ 2× idle p99 | {be} | {} (idle {}) | {base} | {} | {} |",
            ms(storm),
            ms(idle),
            ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
            verdict(ratio.map(|r| r <= 2.0))
        )?;
        let rss = res.median(&[("backend", be), ("scenario", "ready")], "idle_rss_kib");
        let base_rss = res.median(
            &[("backend", be), ("scenario", "rss"), ("phase", "10k")],
            "baseline_idle_kib",
        );
        writeln!(
            o,
            "| idle RSS ≤ 20 MB (taken as 20 MiB) | {be} | {} | {} | | {} |",
            mib(rss),
            mib(base_rss),
            verdict(rss.map(|r| r <= 20.0 * 1024.0))
        )?;
        let ready = res.median(&[("backend", be), ("scenario", "ready")], "ready_ms");
        let target = if be == "sqlite" {
            verdict(ready.map(|r| r <= 100.0))
        } else {
            "(target is for SQLite)"
        };
        writeln!(
            o,
            "| process start → /health/ready ≤ 100 ms on SQLite | {be} | {} | | | {target} |",
            ready
                .map(|r| format!("{r:.0} ms"))
                .unwrap_or_else(|| "—".into()),
        )?;
        let revoke = res.median(&[("backend", be), ("scenario", "revoke_others_1k")], "ms");
        writeln!(
            o,
            "| revoke all others of an identity with 1k sessions ≤ 10 ms | {be} | {} | | | {} |",
            revoke
                .map(|r| format!("{r:.2} ms"))
                .unwrap_or_else(|| "—".into()),
            verdict(revoke.map(|r| r <= 10.0))
        )?;
        let mut worst: Option<(i64, f64)> = None;
        let mut depths: Vec<i64> = res
            .rows(&[("backend", be), ("scenario", "admin_list")])
            .filter_map(|r| r["depth"].as_i64())
            .collect();
        depths.sort();
        depths.dedup();
        for d in &depths {
            let ds = d.to_string();
            if let Some(p) = res.median(
                &[("backend", be), ("scenario", "admin_list"), ("depth", &ds)],
                "p99_us",
            ) {
                if worst.map(|(_, w)| p > w).unwrap_or(true) {
                    worst = Some((*d, p));
                }
            }
        }
        writeln!(
            o,
            "| admin list sessions p99 ≤ 10 ms at any depth (worst depth, 1 conn, 1M sessions) | {be} | {} | | | {} |",
            worst
                .map(|(d, p)| format!("{} at depth {d}", ms(Some(p))))
                .unwrap_or_else(|| "—".into()),
            verdict(worst.map(|(_, p)| p <= 10_000.0))
        )?;
    }

    // --- every scenario, medians ---
    for be in res.backends() {
        let be = be.as_str();
        writeln!(o, "\n#### All scenarios on {be} (medians)\n")?;
        writeln!(
            o,
            "| scenario | server | req/s | p50 | p90 | p99 | p99.9 | non-2xx (sum) |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
        )?;
        let mut line = |label: String, filter: Vec<(&str, &str)>| -> Result<()> {
            if res.rows(&filter).next().is_none() {
                return Ok(());
            }
            let non2xx: f64 = res.values(&filter, "non2xx").iter().sum();
            writeln!(
                o,
                "| {label} | {} | {} | {} | {} | {} | {} | {non2xx:.0} |",
                filter
                    .iter()
                    .find(|(k, _)| *k == "server")
                    .map(|(_, v)| *v)
                    .unwrap_or("ostiary"),
                rate(res.median(&filter, "rps")),
                ms(res.median(&filter, "p50_us")),
                ms(res.median(&filter, "p90_us")),
                ms(res.median(&filter, "p99_us")),
                ms(res.median(&filter, "p999_us")),
            )?;
            Ok(())
        };
        for (sc, label) in [
            ("whoami_10k", "whoami, 10k sessions"),
            ("whoami_1m", "whoami, 1M sessions"),
        ] {
            for v in ["token", "cookie"] {
                for srv in ["baseline", "ostiary"] {
                    line(
                        format!("{label}, {v}"),
                        vec![
                            ("backend", be),
                            ("scenario", sc),
                            ("variant", v),
                            ("server", srv),
                        ],
                    )?;
                }
            }
        }
        line(
            "list my sessions (GET /sessions, 9 others each)".into(),
            vec![("backend", be), ("scenario", "list_my_sessions")],
        )?;
        line(
            "native login, 16 conns".into(),
            vec![("backend", be), ("scenario", "login")],
        )?;
        line(
            "whoami during a login storm, 64 conns".into(),
            vec![("backend", be), ("scenario", "storm_whoami")],
        )?;
        line(
            "the login storm beside it, 16 conns".into(),
            vec![("backend", be), ("scenario", "storm_login")],
        )?;
        line(
            "baseline whoami beside nice-19 hashing on every core, 64 conns".into(),
            vec![
                ("backend", be),
                ("scenario", "storm_baseline"),
                ("server", "baseline"),
            ],
        )?;
        let mut depths: Vec<i64> = res
            .rows(&[("backend", be), ("scenario", "admin_list")])
            .filter_map(|r| r["depth"].as_i64())
            .collect();
        depths.sort();
        depths.dedup();
        for d in depths {
            let ds = d.to_string();
            line(
                format!("admin list sessions, page of 250 at depth {d}, 1 conn"),
                vec![("backend", be), ("scenario", "admin_list"), ("depth", &ds)],
            )?;
        }
        let walk = res.values(&[("backend", be), ("scenario", "admin_walk")], "ms");
        if !walk.is_empty() {
            writeln!(
                o,
                "\nAdmin list, following `next` from the first page ({} pages of 250, one request each): median {:.2} ms, max {:.2} ms.",
                walk.len(),
                median(walk.clone()).unwrap_or(0.0),
                walk.iter().cloned().fold(0.0, f64::max)
            )?;
        }
        let hasher = res.values(&[("backend", be), ("scenario", "hasher")], "rate");
        let revoke = res.values(&[("backend", be), ("scenario", "revoke_others_1k")], "ms");
        let ready = res.values(&[("backend", be), ("scenario", "ready")], "ready_ms");
        let idle = res.values(&[("backend", be), ("scenario", "ready")], "idle_rss_kib");
        let fmt = |v: &[f64], d: usize| {
            v.iter()
                .map(|x| format!("{x:.d$}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            o,
            "\n- raw hasher (bcrypt cost 12, {} threads): {} verifications/s per run",
            res.rows(&[("backend", be), ("scenario", "hasher")])
                .next()
                .map(|r| r["threads"].to_string())
                .unwrap_or_default(),
            fmt(&hasher, 2)
        )?;
        writeln!(
            o,
            "- revoke all others (999 sessions revoked by one `DELETE /sessions`), per run: {} ms",
            fmt(&revoke, 2)
        )?;
        writeln!(
            o,
            "- process start → `/health/ready` 200, per start: {} ms; idle RSS 1 s later: {} KiB",
            fmt(&ready, 0),
            fmt(&idle, 0)
        )?;
        for r in res.rows(&[("backend", be), ("scenario", "rss")]) {
            let mut parts = Vec::new();
            if let Some(obj) = r.as_object() {
                for (k, v) in obj {
                    if k.ends_with("_kib") {
                        parts.push(format!(
                            "{} {}",
                            k.trim_end_matches("_kib").replace('_', " "),
                            mib(v.as_f64())
                        ));
                    }
                }
            }
            writeln!(
                o,
                "- RSS ({}): {}",
                r["phase"].as_str().unwrap_or("?"),
                parts.join(", ")
            )?;
        }
        for r in res.rows(&[("backend", be), ("scenario", "seed")]) {
            writeln!(
                o,
                "- seeding ({} phase): {} identities, {} sessions in {} s",
                r["phase"].as_str().unwrap_or("?"),
                r["identities"],
                r["sessions"],
                r["seconds"]
            )?;
        }
    }

    // --- raw runs ---
    writeln!(
        o,
        "\n#### Raw runs\n\nEvery wrk run (latencies in µs), in the order they ran:\n\n\
         | backend | scenario | server | variant/depth | run | req/s | p50 | p90 | p99 | p99.9 | max | non-2xx | errors |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )?;
    for r in &res.0 {
        if r["rps"].is_null() {
            continue;
        }
        let errs = ["connect_err", "read_err", "write_err", "timeouts"]
            .iter()
            .map(|k| r[*k].as_u64().unwrap_or(0))
            .sum::<u64>();
        let vd = r["variant"]
            .as_str()
            .map(str::to_string)
            .or_else(|| r["depth"].as_i64().map(|d| d.to_string()))
            .unwrap_or_default();
        writeln!(
            o,
            "| {} | {} | {} | {vd} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {errs} |",
            r["backend"].as_str().unwrap_or(""),
            r["scenario"].as_str().unwrap_or(""),
            r["server"].as_str().unwrap_or("ostiary"),
            r["run"],
            r["rps"].as_f64().unwrap_or(0.0),
            r["p50_us"],
            r["p90_us"],
            r["p99_us"],
            r["p999_us"],
            r["max_us"],
            r["non2xx"],
        )?;
    }
    let loads: Vec<String> = res
        .0
        .iter()
        .filter(|r| r["scenario"] == "load")
        .map(|r| {
            format!(
                "{}: {}",
                r["at"].as_str().unwrap_or(""),
                r["loadavg"].as_str().unwrap_or("")
            )
        })
        .collect();
    if !loads.is_empty() {
        writeln!(
            o,
            "\nLoad average when each phase started: {}.",
            loads.join("; ")
        )?;
    }
    std::fs::write(a.get("out")?, o)?;
    Ok(())
}

/// `splice --results-md F --into BENCHMARKS.md`: replace the text between the markers.
fn splice(a: &Args) -> Result<()> {
    const START: &str = "<!-- results:start (written by bench/run.sh) -->";
    const END: &str = "<!-- results:end -->";
    let results = std::fs::read_to_string(a.get("results-md")?)?;
    let path = a.get("into")?;
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (doc.find(START), doc.find(END)) {
        (Some(s), Some(e)) if e > s => format!(
            "{}{START}\n{}\n{END}{}",
            &doc[..s],
            results.trim_end(),
            &doc[e + END.len()..]
        ),
        _ => format!(
            "{}\n{START}\n{}\n{END}\n",
            doc.trim_end(),
            results.trim_end()
        ),
    };
    std::fs::write(path, new)?;
    Ok(())
}
