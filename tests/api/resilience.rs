//! Resilience of the real `ostiary` binary (issue 6, items 2–4):
//!
//! - crash safety: kill -9 under a load of registrations, logins and revocations, restart on the
//!   same ports, and find every acknowledged write present and every acknowledged revocation kept
//!   (SQLite and PostgreSQL, three kills each);
//! - several nodes: three processes on one PostgreSQL database, where a login on one node is
//!   accepted by the others at once and every kind of revocation on one node is refused by the
//!   others on the very next request;
//! - no false answers under load: a sustained whoami load while other sessions are created and
//!   revoked gives no wrong 401 and no wrong 200.
//!
//! Every test spawns the binary itself (`env!("CARGO_BIN_EXE_ostiary")`) with a config file in a
//! temporary directory, talks HTTP with reqwest, and prints its figures. No timing is asserted.

use crate::helpers::{postgres_available, PASSWORD};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ostiary");
/// Shared by every node, so a cookie or CSRF token minted by one is valid on all.
const COOKIE_SECRET: &str = "resilience-shared-cookie-secret-0001";

// ---------------------------------------------------------------------------------------------
// Databases and server processes
// ---------------------------------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database (a SQLite file or a PostgreSQL database of its own) and a temporary directory
/// for config files and server logs. The PostgreSQL database is dropped on drop.
struct Db {
    dsn: String,
    dir: tempfile::TempDir,
    pg_db: Option<String>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let dsn = format!("sqlite://{}/ostiary.sqlite", dir.path().display());
        Db {
            dsn,
            dir,
            pg_db: None,
        }
    }

    async fn postgres() -> Db {
        use sqlx::Connection;
        let name = format!("ostiary_resilience_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(&pg_admin_url())
            .await
            .expect("postgres");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .unwrap();
        let _ = c.close().await;
        let mut url = url::Url::parse(&pg_admin_url()).unwrap();
        url.set_path(&format!("/{name}"));
        Db {
            dsn: url.to_string(),
            dir: tempfile::tempdir().unwrap(),
            pg_db: Some(name),
        }
    }

    fn label(&self) -> &'static str {
        if self.pg_db.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// `ostiary migrate sql <dsn> --yes`, once, before any node starts.
    fn migrate(&self) {
        let out = Command::new(BIN)
            .args(["migrate", "sql", &self.dsn, "--yes"])
            .env_remove("DSN")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "migrate sql failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(db) = self.pg_db.take() {
            let admin = pg_admin_url();
            // Drop on a separate thread with its own runtime: Drop may run inside a runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// One `ostiary serve` process with fixed ports, so it can be killed and restarted in place.
struct Node {
    name: String,
    public: u16,
    admin: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Node {
    fn new(db: &Db, name: &str) -> Node {
        let (public, admin) = (free_port(), free_port());
        let config = db.dir.path().join(format!("{name}.yaml"));
        let raw = json!({
            "dsn": db.dsn,
            "dev": true,
            "serve": {
                "public": {"host": "127.0.0.1", "port": public, "base_url": format!("http://127.0.0.1:{public}/")},
                "admin": {"host": "127.0.0.1", "port": admin, "base_url": format!("http://127.0.0.1:{admin}/")}
            },
            "selfservice": {
                "default_browser_return_url": "http://app.example.com/",
                "flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}
            },
            "secrets": {"cookie": [COOKIE_SECRET]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}}
        });
        // JSON is YAML: one file format for the loader, whatever it expects.
        std::fs::write(&config, serde_json::to_string_pretty(&raw).unwrap()).unwrap();
        Node {
            name: name.to_string(),
            public,
            admin,
            log: db.dir.path().join(format!("{name}.log")),
            config,
            child: None,
            starts: 0,
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = log.len().saturating_sub(3000);
        let start = (start..log.len())
            .find(|i| log.is_char_boundary(*i))
            .unwrap_or(0);
        log[start..].to_string()
    }

    fn spawn(&mut self) {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.starts += 1;
        let _ = writeln!(
            log,
            "----- start #{} of node {} -----",
            self.starts, self.name
        );
        let child = Command::new(BIN)
            .args(["serve", "-c", self.config.to_str().unwrap()])
            .env_remove("DSN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ostiary");
        self.child = Some(child);
    }

    /// Start (or restart on the same ports) and wait until both APIs answer ready. A restart right
    /// after a kill may find a port briefly held; it is retried a few times.
    async fn start(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let ready = [
            format!("http://127.0.0.1:{}/health/ready", self.public),
            format!("http://127.0.0.1:{}/admin/health/ready", self.admin),
        ];
        for _attempt in 0..5 {
            self.spawn();
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut exited = false;
            while Instant::now() < deadline {
                if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                    exited = true;
                    break;
                }
                let mut all = true;
                for url in &ready {
                    match http.get(url).send().await {
                        Ok(r) if r.status() == 200 => {}
                        _ => all = false,
                    }
                }
                if all {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            if !exited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!(
            "node {} did not become ready on ports {}/{}; log:\n{}",
            self.name,
            self.public,
            self.admin,
            self.log_tail()
        );
    }

    /// SIGSTOP or SIGCONT: a node that hangs without closing its connections, and its recovery.
    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(ok.success(), "kill {sig} {pid}");
    }

    /// SIGKILL (`Child::kill`), then reap.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A fresh client for this node (no pooled connections to a killed process).
    fn api(&self) -> Api {
        Api {
            c: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            public: format!("http://127.0.0.1:{}", self.public),
            admin: format!("http://127.0.0.1:{}", self.admin),
            node: self.name.clone(),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP calls, as a native (API) client and an admin would make them
// ---------------------------------------------------------------------------------------------

type Answer = Result<(u16, Value), reqwest::Error>;

async fn call(rb: reqwest::RequestBuilder) -> Answer {
    let res = rb.send().await?;
    let status = res.status().as_u16();
    let bytes = res.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

#[derive(Clone)]
struct Api {
    c: reqwest::Client,
    public: String,
    admin: String,
    node: String,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

impl Api {
    fn public(&self, p: &str) -> String {
        format!("{}{}", self.public, p)
    }
    fn admin(&self, p: &str) -> String {
        format!("{}{}", self.admin, p)
    }

    /// Native registration (with the `session` hook): 200 with identity, session and token.
    async fn register(&self, email: &str) -> Answer {
        let (st, flow) = call(self.c.get(self.public("/self-service/registration/api"))).await?;
        if st != 200 {
            return Ok((st, flow));
        }
        call(
            self.c
                .post(self.public(&format!("/self-service/registration?flow={}", s(&flow["id"]))))
                .json(&json!({"method": "password", "traits": {"email": email}, "password": PASSWORD})),
        )
        .await
    }

    /// Native login: 200 with session and token.
    async fn login(&self, email: &str) -> Answer {
        let (st, flow) = call(self.c.get(self.public("/self-service/login/api"))).await?;
        if st != 200 {
            return Ok((st, flow));
        }
        call(
            self.c
                .post(self.public(&format!("/self-service/login?flow={}", s(&flow["id"]))))
                .json(&json!({"method": "password", "identifier": email, "password": PASSWORD})),
        )
        .await
    }

    async fn whoami(&self, token: &str) -> Answer {
        call(
            self.c
                .get(self.public("/sessions/whoami"))
                .header("X-Session-Token", token),
        )
        .await
    }

    /// `performNativeLogout`: 204.
    async fn logout(&self, token: &str) -> Answer {
        call(
            self.c
                .delete(self.public("/self-service/logout/api"))
                .json(&json!({ "session_token": token })),
        )
        .await
    }

    /// `disableMySession`: 204.
    async fn disable_my_session(&self, current: &str, id: &str) -> Answer {
        call(
            self.c
                .delete(self.public(&format!("/sessions/{id}")))
                .header("X-Session-Token", current),
        )
        .await
    }

    /// `disableMyOtherSessions`: 200 `{"count": n}`.
    async fn disable_my_other_sessions(&self, current: &str) -> Answer {
        call(
            self.c
                .delete(self.public("/sessions"))
                .header("X-Session-Token", current),
        )
        .await
    }

    /// Admin `disableSession`: 204.
    async fn admin_disable_session(&self, id: &str) -> Answer {
        call(self.c.delete(self.admin(&format!("/admin/sessions/{id}")))).await
    }

    async fn create_identity(&self, email: &str) -> Answer {
        call(self.c.post(self.admin("/admin/identities")).json(&json!({
            "schema_id": "default",
            "traits": {"email": email},
            "credentials": {"password": {"config": {"password": PASSWORD}}}
        })))
        .await
    }

    async fn get_identity(&self, id: &str) -> Answer {
        call(self.c.get(self.admin(&format!(
            "/admin/identities/{id}?include_credential=password"
        ))))
        .await
    }

    /// JSON Patch the state to `inactive`: 200.
    async fn deactivate_identity(&self, id: &str) -> Answer {
        call(
            self.c
                .patch(self.admin(&format!("/admin/identities/{id}")))
                .json(&json!([{"op": "replace", "path": "/state", "value": "inactive"}])),
        )
        .await
    }

    /// JSON Patch an identity: 200.
    async fn patch_identity(&self, id: &str, ops: Value) -> Answer {
        call(
            self.c
                .patch(self.admin(&format!("/admin/identities/{id}")))
                .json(&ops),
        )
        .await
    }

    /// Admin `extendSession`: 200 with the session.
    async fn extend_session(&self, id: &str) -> Answer {
        call(
            self.c
                .patch(self.admin(&format!("/admin/sessions/{id}/extend"))),
        )
        .await
    }

    /// `deleteIdentity`: 204.
    async fn delete_identity(&self, id: &str) -> Answer {
        call(
            self.c
                .delete(self.admin(&format!("/admin/identities/{id}"))),
        )
        .await
    }
}

fn email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

fn show(v: &Value) -> String {
    let t = v.to_string();
    t.chars().take(300).collect()
}

fn print_anomalies(what: &str, anomalies: &[String]) {
    if !anomalies.is_empty() {
        println!("{what}: {} anomalies; the first ones:", anomalies.len());
        for a in anomalies.iter().take(25) {
            println!("  - {a}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 2: crash safety
// ---------------------------------------------------------------------------------------------

/// What the client knows about a session from acknowledged answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Known {
    /// Created by an acknowledged registration or login, never the target of a revocation.
    Live,
    /// The revocation was acknowledged (logout 204, DELETE /sessions/{id} 204, DELETE /sessions
    /// 200, DELETE /admin/sessions/{id} 204).
    Revoked,
    /// A revocation was in flight when the server was killed: either answer is correct.
    Uncertain,
}

struct CrashSession {
    id: String,
    token: String,
    identity: String,
    known: Known,
    /// Which request made it Revoked (or Live: "registration"/"login").
    how: &'static str,
    cycle: u32,
}

#[derive(Default)]
struct CrashLedger {
    /// (identity id, email, cycle) of every acknowledged registration.
    identities: Vec<(String, String, u32)>,
    sessions: Vec<CrashSession>,
    acked: HashMap<&'static str, u64>,
    /// Requests cut off by the kill (no answer, so no expectation).
    unacknowledged: u64,
    anomalies: Vec<String>,
}

struct OwnIdentity {
    id: String,
    email: String,
    /// (session id, token) of its sessions the client believes live.
    live: Vec<(String, String)>,
}

/// One load worker until the stop flag or its first transport error (the kill). It owns the
/// identities it registers, so every session of those identities is known to it alone.
async fn crash_worker(api: Api, stop: Arc<AtomicBool>, cycle: u32) -> CrashLedger {
    let mut rng = StdRng::from_entropy();
    let mut out = CrashLedger::default();
    let mut mine: Vec<OwnIdentity> = Vec::new();
    let finish = |out: &mut CrashLedger,
                  id: &str,
                  token: &str,
                  identity: &str,
                  known: Known,
                  how: &'static str| {
        out.sessions.push(CrashSession {
            id: id.to_string(),
            token: token.to_string(),
            identity: identity.to_string(),
            known,
            how,
            cycle,
        });
    };
    'load: while !stop.load(Ordering::SeqCst) {
        let roll = rng.gen_range(0..100);
        let with_live: Vec<usize> = (0..mine.len())
            .filter(|i| !mine[*i].live.is_empty())
            .collect();
        if mine.is_empty() || roll < 25 {
            let e = email("crash");
            match api.register(&e).await {
                Err(_) => {
                    out.unacknowledged += 1;
                    break 'load;
                }
                Ok((200, b)) => {
                    let (iid, sid, tok) = (
                        s(&b["identity"]["id"]),
                        s(&b["session"]["id"]),
                        s(&b["session_token"]),
                    );
                    if iid.is_empty() || sid.is_empty() || tok.is_empty() {
                        out.anomalies
                            .push(format!("registration 200 without ids: {}", show(&b)));
                        continue;
                    }
                    *out.acked.entry("registration").or_default() += 1;
                    out.identities.push((iid.clone(), e.clone(), cycle));
                    mine.push(OwnIdentity {
                        id: iid,
                        email: e,
                        live: vec![(sid, tok)],
                    });
                }
                Ok((st, b)) => out
                    .anomalies
                    .push(format!("registration answered {st}: {}", show(&b))),
            }
        } else if roll < 55 || with_live.is_empty() {
            let i = rng.gen_range(0..mine.len());
            match api.login(&mine[i].email).await {
                Err(_) => {
                    out.unacknowledged += 1;
                    break 'load;
                }
                Ok((200, b)) => {
                    let (sid, tok) = (s(&b["session"]["id"]), s(&b["session_token"]));
                    if sid.is_empty() || tok.is_empty() {
                        out.anomalies
                            .push(format!("login 200 without ids: {}", show(&b)));
                        continue;
                    }
                    *out.acked.entry("login").or_default() += 1;
                    mine[i].live.push((sid, tok));
                }
                Ok((st, b)) => out
                    .anomalies
                    .push(format!("login answered {st}: {}", show(&b))),
            }
        } else {
            let i = with_live[rng.gen_range(0..with_live.len())];
            let n = mine[i].live.len();
            let mut kind = rng.gen_range(0..4);
            if n < 2 && (kind == 1 || kind == 2) {
                kind = 0;
            }
            let iid = mine[i].id.clone();
            // Sessions this request revokes (indexes into live) and the expected answer.
            let (targets, res, how): (Vec<usize>, Answer, &'static str) = match kind {
                0 => {
                    let t = rng.gen_range(0..n);
                    let r = api.logout(&mine[i].live[t].1).await;
                    (vec![t], r, "logout")
                }
                1 => {
                    let cur = rng.gen_range(0..n);
                    let t = (cur + rng.gen_range(1..n)) % n;
                    let r = api
                        .disable_my_session(&mine[i].live[cur].1, &mine[i].live[t].0)
                        .await;
                    (vec![t], r, "disableMySession")
                }
                2 => {
                    let cur = rng.gen_range(0..n);
                    let r = api.disable_my_other_sessions(&mine[i].live[cur].1).await;
                    (
                        (0..n).filter(|t| *t != cur).collect(),
                        r,
                        "disableMyOtherSessions",
                    )
                }
                _ => {
                    let t = rng.gen_range(0..n);
                    let r = api.admin_disable_session(&mine[i].live[t].0).await;
                    (vec![t], r, "adminDisableSession")
                }
            };
            let acked = match &res {
                Err(_) => None,
                Ok((204, _)) if kind != 2 => Some(true),
                Ok((200, b)) if kind == 2 => {
                    if b["count"] != json!(targets.len()) {
                        out.anomalies.push(format!(
                            "disableMyOtherSessions counted {} for {} known other live sessions",
                            b["count"],
                            targets.len()
                        ));
                    }
                    Some(true)
                }
                Ok((st, b)) => {
                    out.anomalies
                        .push(format!("{how} answered {st}: {}", show(b)));
                    Some(false)
                }
            };
            let known = match acked {
                None => Known::Uncertain,
                Some(true) => Known::Revoked,
                Some(false) => continue,
            };
            if known == Known::Revoked {
                *out.acked.entry(how).or_default() += 1;
            }
            let mut idx = targets;
            idx.sort_unstable();
            for t in idx.into_iter().rev() {
                let (sid, tok) = mine[i].live.remove(t);
                finish(&mut out, &sid, &tok, &iid, known, how);
            }
            if acked.is_none() {
                out.unacknowledged += 1;
                break 'load;
            }
        }
    }
    for m in &mine {
        for (sid, tok) in &m.live {
            finish(&mut out, sid, tok, &m.id, Known::Live, "login");
        }
    }
    out
}

#[derive(Default, Debug)]
struct Verified {
    identities: u64,
    live: u64,
    revoked: u64,
    uncertain_live: u64,
    uncertain_revoked: u64,
    lost: Vec<String>,
}

/// After a restart: every acknowledged identity is there with its password credential, every
/// live session answers 200 for its identity, every revoked session 401.
async fn verify_crash(api: &Api, ledger: &CrashLedger) -> Verified {
    let mut v = Verified::default();
    let identity_checks = futures::stream::iter(ledger.identities.iter().cloned())
        .map(|(id, email, cycle)| {
            let api = api.clone();
            async move {
                match api.get_identity(&id).await {
                    Ok((200, b)) => {
                        let ids = &b["credentials"]["password"]["identifiers"];
                        if b["traits"]["email"] == json!(email)
                            && ids
                                .as_array()
                                .map(|a| a.contains(&json!(email)))
                                .unwrap_or(false)
                        {
                            Ok(())
                        } else {
                            Err(format!(
                                "identity {id} ({email}, registered in cycle {cycle}) came back altered: {}",
                                show(&b)
                            ))
                        }
                    }
                    Ok((st, b)) => Err(format!(
                        "LOST WRITE: identity {id} ({email}), registration acknowledged in cycle {cycle}, now answers {st}: {}",
                        show(&b)
                    )),
                    Err(e) => Err(format!("identity {id}: transport error {e}")),
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for r in identity_checks {
        match r {
            Ok(()) => v.identities += 1,
            Err(e) => v.lost.push(e),
        }
    }
    let session_checks = futures::stream::iter(ledger.sessions.iter())
        .map(|cs| {
            let api = api.clone();
            async move { (cs, api.whoami(&cs.token).await) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for (cs, r) in session_checks {
        let (st, b) = match r {
            Ok(x) => x,
            Err(e) => {
                v.lost
                    .push(format!("session {}: transport error {e}", cs.id));
                continue;
            }
        };
        match (cs.known, st) {
            (Known::Live, 200) if s(&b["id"]) == cs.id && s(&b["identity"]["id"]) == cs.identity => {
                v.live += 1
            }
            (Known::Live, _) => v.lost.push(format!(
                "LOST WRITE: session {} of identity {} (acknowledged {} in cycle {}, never revoked) answers whoami {st}: {}",
                cs.id, cs.identity, cs.how, cs.cycle, show(&b)
            )),
            (Known::Revoked, 401) => v.revoked += 1,
            (Known::Revoked, _) => v.lost.push(format!(
                "REVOCATION LOST: session {} of identity {} (revoked by an acknowledged {} in cycle {}) answers whoami {st}",
                cs.id, cs.identity, cs.how, cs.cycle
            )),
            (Known::Uncertain, 200) => v.uncertain_live += 1,
            (Known::Uncertain, 401) => v.uncertain_revoked += 1,
            (Known::Uncertain, _) => v.lost.push(format!(
                "session {} (revocation {} cut off in cycle {}) answers whoami {st}",
                cs.id, cs.how, cs.cycle
            )),
        }
    }
    v
}

const CRASH_WORKERS: usize = 8;
const CRASH_KILLS: u32 = 3;

async fn crash_safety(db: Db) {
    let label = db.label();
    db.migrate();
    let mut node = Node::new(&db, &format!("crash-{label}"));
    node.start().await;
    let mut ledger = CrashLedger::default();
    let mut rng = StdRng::from_entropy();
    let mut problems: Vec<String> = Vec::new();
    let mut checked = 0u64;
    for cycle in 1..=CRASH_KILLS {
        let api = node.api();
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..CRASH_WORKERS)
            .map(|_| tokio::spawn(crash_worker(api.clone(), stop.clone(), cycle)))
            .collect();
        // Let the load run, then kill -9 in the middle of it.
        let load_ms = rng.gen_range(800..2000);
        tokio::time::sleep(Duration::from_millis(load_ms)).await;
        stop.store(true, Ordering::SeqCst);
        node.kill();
        let before = (
            ledger.identities.len(),
            ledger.sessions.len(),
            ledger.unacknowledged,
        );
        let mut acked_cycle: HashMap<&'static str, u64> = HashMap::new();
        for w in workers {
            let out = w.await.expect("load worker");
            ledger.identities.extend(out.identities);
            ledger.sessions.extend(out.sessions);
            ledger.unacknowledged += out.unacknowledged;
            ledger.anomalies.extend(out.anomalies);
            for (k, n) in out.acked {
                *acked_cycle.entry(k).or_default() += n;
                *ledger.acked.entry(k).or_default() += n;
            }
        }
        let mut kinds: Vec<_> = acked_cycle.iter().collect();
        kinds.sort();
        println!(
            "[crash {label}] cycle {cycle}: kill -9 after {load_ms} ms of load; acknowledged this cycle: {:?}; {} new identities, {} new sessions tracked, {} requests cut off by the kill",
            kinds,
            ledger.identities.len() - before.0,
            ledger.sessions.len() - before.1,
            ledger.unacknowledged - before.2
        );
        node.start().await;
        let v = verify_crash(&node.api(), &ledger).await;
        checked += v.identities + v.live + v.revoked + v.uncertain_live + v.uncertain_revoked;
        println!(
            "[crash {label}] cycle {cycle}: restarted; verified {} identities present, {} sessions live (200), {} revoked sessions still revoked (401), {} cut-off revocations (200: {}, 401: {}), {} lost",
            v.identities,
            v.live,
            v.revoked,
            v.uncertain_live + v.uncertain_revoked,
            v.uncertain_live,
            v.uncertain_revoked,
            v.lost.len()
        );
        problems.extend(
            v.lost
                .into_iter()
                .map(|p| format!("after kill {cycle}: {p}")),
        );
        // The stored password hash works too: log in as some identities registered this cycle.
        // (The new sessions are not tracked; they touch no tracked session.)
        let api = node.api();
        let mut logins_ok = 0;
        for (id, email, _) in ledger
            .identities
            .iter()
            .filter(|(_, _, c)| *c == cycle)
            .take(10)
        {
            match api.login(email).await {
                Ok((200, b)) if s(&b["session"]["identity"]["id"]) == *id => logins_ok += 1,
                Ok((st, b)) => problems.push(format!(
                    "after kill {cycle}: LOST WRITE: identity {id} ({email}), registration acknowledged, cannot log in: {st} {}",
                    show(&b)
                )),
                Err(e) => problems.push(format!("after kill {cycle}: login {email}: {e}")),
            }
        }
        checked += logins_ok;
        println!(
            "[crash {label}] cycle {cycle}: {logins_ok} identities registered before the kill log in with their password"
        );
    }
    node.kill();
    let total_writes: u64 = ledger.acked.values().sum();
    let revoked = ledger
        .sessions
        .iter()
        .filter(|s| s.known == Known::Revoked)
        .count();
    let live = ledger
        .sessions
        .iter()
        .filter(|s| s.known == Known::Live)
        .count();
    println!(
        "[crash {label}] SUMMARY: {CRASH_KILLS} kills survived; {total_writes} writes acknowledged ({} identities, {} sessions: {live} live, {revoked} revoked) and verified after every later restart ({checked} checks in all); {} requests cut off by kills; {} lost writes or revocations; {} other anomalies",
        ledger.identities.len(),
        ledger.sessions.len(),
        ledger.unacknowledged,
        problems.len(),
        ledger.anomalies.len()
    );
    print_anomalies(&format!("[crash {label}] lost writes"), &problems);
    print_anomalies(
        &format!("[crash {label}] unexpected answers"),
        &ledger.anomalies,
    );
    assert!(
        problems.is_empty(),
        "{label}: {} acknowledged writes or revocations lost across kill -9 (first: {})",
        problems.len(),
        problems[0]
    );
    assert!(
        ledger.anomalies.is_empty(),
        "{label}: unexpected answers under load: {:?}",
        &ledger.anomalies[..ledger.anomalies.len().min(5)]
    );
    assert!(
        total_writes > 0 && revoked > 0 && live > 0,
        "the load did run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_safety_sqlite() {
    crash_safety(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_safety_postgres() {
    if !postgres_available().await {
        return;
    }
    crash_safety(Db::postgres().await).await;
}

// ---------------------------------------------------------------------------------------------
// Item 3: several nodes on one PostgreSQL database
// ---------------------------------------------------------------------------------------------

const REVOCATIONS: [&str; 6] = [
    "logout",
    "disableMySession",
    "disableMyOtherSessions",
    "adminDisableSession",
    "deactivateIdentity",
    "deleteIdentity",
];
/// 14 trials for every (revoking node, revocation kind) pair.
const NODE_TRIALS: usize = 3 * REVOCATIONS.len() * 14;

#[derive(Default)]
struct NodeReport {
    kind: &'static str,
    trials: u64,
    clean_trials: u64,
    login_checks: u64,
    revocation_checks: u64,
    survivor_checks: u64,
    stale: Vec<String>,
}

/// One trial: identity and sessions made on A, checked on B and C at once; revoked on A by `kind`,
/// then B and C are asked right away.
async fn node_trial(i: usize, apis: &[Api; 3]) -> NodeReport {
    let kind = REVOCATIONS[(i / 3) % REVOCATIONS.len()];
    let mut r = NodeReport {
        kind,
        trials: 1,
        ..Default::default()
    };
    let a = &apis[i % 3];
    let others = [&apis[(i + 1) % 3], &apis[(i + 2) % 3]];
    let e = email("node");
    let (st, ident) = a.create_identity(&e).await.unwrap();
    assert_eq!(st, 201, "create identity on {}: {}", a.node, show(&ident));
    let iid = s(&ident["id"]);
    for o in others {
        let (st, _) = o.get_identity(&iid).await.unwrap();
        if st != 200 {
            r.stale.push(format!(
                "trial {i}: identity created on {} answers {st} on {}",
                a.node, o.node
            ));
        }
    }
    let n = match kind {
        "disableMySession" => 2,
        "disableMyOtherSessions" => 3,
        _ => 1,
    };
    let mut sessions: Vec<(String, String)> = Vec::new();
    for _ in 0..n {
        let (st, b) = a.login(&e).await.unwrap();
        assert_eq!(st, 200, "login on {}: {}", a.node, show(&b));
        let (sid, tok) = (s(&b["session"]["id"]), s(&b["session_token"]));
        for o in others {
            r.login_checks += 1;
            let (st, w) = o.whoami(&tok).await.unwrap();
            if st != 200 || s(&w["id"]) != sid {
                r.stale.push(format!(
                    "trial {i}: session {sid} just made by a login on {} answers whoami {st} on {}",
                    a.node, o.node
                ));
            }
        }
        sessions.push((sid, tok));
    }
    // Revoke on A; `revoked` must be refused everywhere, `kept` still accepted.
    let (revoked, kept): (Vec<usize>, Vec<usize>) = match kind {
        "logout" => {
            let (st, b) = a.logout(&sessions[0].1).await.unwrap();
            assert_eq!(st, 204, "logout on {}: {}", a.node, show(&b));
            (vec![0], vec![])
        }
        "disableMySession" => {
            let (st, b) = a
                .disable_my_session(&sessions[0].1, &sessions[1].0)
                .await
                .unwrap();
            assert_eq!(st, 204, "disableMySession on {}: {}", a.node, show(&b));
            (vec![1], vec![0])
        }
        "disableMyOtherSessions" => {
            let (st, b) = a.disable_my_other_sessions(&sessions[0].1).await.unwrap();
            assert_eq!(
                st,
                200,
                "disableMyOtherSessions on {}: {}",
                a.node,
                show(&b)
            );
            assert_eq!(b["count"], 2, "disableMyOtherSessions count");
            (vec![1, 2], vec![0])
        }
        "adminDisableSession" => {
            let (st, b) = a.admin_disable_session(&sessions[0].0).await.unwrap();
            assert_eq!(st, 204, "admin disableSession on {}: {}", a.node, show(&b));
            (vec![0], vec![])
        }
        "deactivateIdentity" => {
            let (st, b) = a.deactivate_identity(&iid).await.unwrap();
            assert_eq!(st, 200, "deactivate on {}: {}", a.node, show(&b));
            assert_eq!(b["state"], "inactive");
            (vec![0], vec![])
        }
        _ => {
            let (st, b) = a.delete_identity(&iid).await.unwrap();
            assert_eq!(st, 204, "delete identity on {}: {}", a.node, show(&b));
            (vec![0], vec![])
        }
    };
    for o in others {
        // The very next request on this node is the revoked session's whoami.
        for t in &revoked {
            r.revocation_checks += 1;
            let (st, _) = o.whoami(&sessions[*t].1).await.unwrap();
            if st != 401 {
                r.stale.push(format!(
                    "trial {i}: STALE: session {} revoked by an acknowledged {kind} on {} answers whoami {st} on {}",
                    sessions[*t].0, a.node, o.node
                ));
            }
        }
        for t in &kept {
            r.survivor_checks += 1;
            let (st, _) = o.whoami(&sessions[*t].1).await.unwrap();
            if st != 200 {
                r.stale.push(format!(
                    "trial {i}: the current session {} kept by {kind} on {} answers whoami {st} on {}",
                    sessions[*t].0, a.node, o.node
                ));
            }
        }
        match kind {
            "deactivateIdentity" => {
                r.revocation_checks += 1;
                let (st, b) = o.get_identity(&iid).await.unwrap();
                if st != 200 || b["state"] != "inactive" {
                    r.stale.push(format!(
                        "trial {i}: identity {iid} deactivated on {} reads {st} {} on {}",
                        a.node, b["state"], o.node
                    ));
                }
            }
            "deleteIdentity" => {
                r.revocation_checks += 1;
                let (st, _) = o.get_identity(&iid).await.unwrap();
                if st != 404 {
                    r.stale.push(format!(
                        "trial {i}: identity {iid} deleted on {} answers {st} on {}",
                        a.node, o.node
                    ));
                }
            }
            _ => {}
        }
    }
    // And on A itself.
    for t in &revoked {
        r.revocation_checks += 1;
        let (st, _) = a.whoami(&sessions[*t].1).await.unwrap();
        if st != 401 {
            r.stale.push(format!(
                "trial {i}: session {} revoked by {kind} on {} answers whoami {st} on the same node",
                sessions[*t].0, a.node
            ));
        }
    }
    if r.stale.is_empty() {
        r.clean_trials = 1;
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres_never_answer_stale() {
    if !postgres_available().await {
        return;
    }
    let (_db, mut nodes) = three_nodes().await;
    let apis = Arc::new([nodes[0].api(), nodes[1].api(), nodes[2].api()]);
    let started = Instant::now();
    let reports: Vec<NodeReport> = futures::stream::iter(0..NODE_TRIALS)
        .map(|i| {
            let apis = apis.clone();
            async move { node_trial(i, &apis).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut total = NodeReport::default();
    let mut per_kind: HashMap<&str, (u64, u64)> = HashMap::new();
    for r in reports {
        let k = per_kind.entry(r.kind).or_default();
        k.0 += r.trials;
        k.1 += r.stale.len() as u64;
        total.trials += r.trials;
        total.clean_trials += r.clean_trials;
        total.login_checks += r.login_checks;
        total.revocation_checks += r.revocation_checks;
        total.survivor_checks += r.survivor_checks;
        total.stale.extend(r.stale);
    }
    let mut kinds: Vec<_> = per_kind.into_iter().collect();
    kinds.sort();
    println!(
        "[nodes postgres] 3 nodes, {} trials in {:.1} s ((trials, stale answers) per revocation: {:?}): {} trials without a stale answer; {} logins accepted at once on the two other nodes, {} revocation checks, {} current-session checks; {} stale answers",
        total.trials,
        started.elapsed().as_secs_f64(),
        kinds,
        total.clean_trials,
        total.login_checks,
        total.revocation_checks,
        total.survivor_checks,
        total.stale.len()
    );
    print_anomalies("[nodes postgres] stale answers", &total.stale);
    for n in nodes.iter_mut() {
        n.kill();
    }
    assert!(
        total.stale.is_empty(),
        "{} stale answers across nodes (first: {})",
        total.stale.len(),
        total.stale[0]
    );
    assert_eq!(total.clean_trials, NODE_TRIALS as u64);
}

/// A fresh PostgreSQL database with three nodes on it, each caching sessions and listening for the
/// others' writes.
async fn three_nodes() -> (Db, [Node; 3]) {
    let db = Db::postgres().await;
    db.migrate();
    let mut nodes = [
        Node::new(&db, "node-a"),
        Node::new(&db, "node-b"),
        Node::new(&db, "node-c"),
    ];
    for n in nodes.iter_mut() {
        n.start().await;
    }
    assert_eq!(cache_listeners(&db).await, 3, "every node listens");
    (db, nodes)
}

/// How many nodes' session caches listen on this database (waits up to 10 s for all three).
async fn cache_listeners(db: &Db) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&db.dsn).await.unwrap();
    let mut n = 0;
    for _ in 0..100 {
        n = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'ostiary-cache:%'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        if n >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = c.close().await;
    n
}

/// Changes to what a session check shows (traits, public metadata, expiry) made on one node are
/// in the very next whoami on the others, whose caches held the old answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_cached_sessions_on_every_node() {
    if !postgres_available().await {
        return;
    }
    let (_db, mut nodes) = three_nodes().await;
    let apis = [nodes[0].api(), nodes[1].api(), nodes[2].api()];
    let mut stale = Vec::new();
    let rounds = 30;
    for i in 0..rounds {
        let a = &apis[i % 3];
        let others = [&apis[(i + 1) % 3], &apis[(i + 2) % 3]];
        let e = email("change");
        let (st, ident) = a.create_identity(&e).await.unwrap();
        assert_eq!(st, 201, "{}", show(&ident));
        let iid = s(&ident["id"]);
        let (st, b) = a.login(&e).await.unwrap();
        assert_eq!(st, 200, "{}", show(&b));
        let (sid, tok) = (s(&b["session"]["id"]), s(&b["session_token"]));
        // Warm every cache (twice: the second answer comes from the cache).
        for o in apis.iter().chain(apis.iter()) {
            let (st, _) = o.whoami(&tok).await.unwrap();
            assert_eq!(st, 200);
        }
        let (st, before) = others[0].whoami(&tok).await.unwrap();
        assert_eq!(st, 200);
        let new_email = email("changed");
        let (st, b) = match i % 3 {
            0 => a
                .patch_identity(
                    &iid,
                    json!([{"op": "replace", "path": "/traits/email", "value": new_email}]),
                )
                .await
                .unwrap(),
            1 => a
                .patch_identity(
                    &iid,
                    json!([{"op": "add", "path": "/metadata_public", "value": {"round": i}}]),
                )
                .await
                .unwrap(),
            _ => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                a.extend_session(&sid).await.unwrap()
            }
        };
        assert_eq!(st, 200, "round {i}: {}", show(&b));
        for o in others {
            let (st, w) = o.whoami(&tok).await.unwrap();
            let seen = match i % 3 {
                0 => w["identity"]["traits"]["email"] == new_email.as_str(),
                1 => w["identity"]["metadata_public"]["round"] == i,
                _ => w["expires_at"] != before["expires_at"] && w["expires_at"] == b["expires_at"],
            };
            if st != 200 || !seen {
                stale.push(format!(
                    "round {i}: STALE: the change made on {} is not in whoami {st} on {}: {}",
                    a.node,
                    o.node,
                    show(&w)
                ));
            }
        }
    }
    println!(
        "[nodes postgres] cached sessions: {rounds} changes (traits, metadata_public, extend) each checked on two other nodes right away: {} stale answers",
        stale.len()
    );
    print_anomalies("[nodes postgres] stale answers", &stale);
    for n in nodes.iter_mut() {
        n.kill();
    }
    assert!(stale.is_empty(), "{}", stale[0]);
}

/// A node that hangs (SIGSTOP: its connections stay open, it acknowledges nothing) while another
/// revokes a session it holds in its cache: the revocation is answered only once the hung node's
/// lease has run out, and when it wakes up its very next whoami refuses the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_never_serves_a_revoked_session() {
    if !postgres_available().await {
        return;
    }
    let (_db, mut nodes) = three_nodes().await;
    let [a, b, c] = [nodes[0].api(), nodes[1].api(), nodes[2].api()];
    let mut stale = Vec::new();
    for round in 0..2 {
        let e = email("hung");
        let (st, ident) = a.create_identity(&e).await.unwrap();
        assert_eq!(st, 201, "{}", show(&ident));
        let (st, b0) = a.login(&e).await.unwrap();
        assert_eq!(st, 200, "{}", show(&b0));
        let (sid, tok) = (s(&b0["session"]["id"]), s(&b0["session_token"]));
        for api in [&b, &b, &c, &c] {
            assert_eq!(api.whoami(&tok).await.unwrap().0, 200);
        }
        nodes[1].signal("-STOP");
        let started = Instant::now();
        let (st, body) = if round == 0 {
            a.admin_disable_session(&sid).await.unwrap()
        } else {
            a.logout(&tok).await.unwrap()
        };
        let took = started.elapsed();
        nodes[1].signal("-CONT");
        assert_eq!(st, 204, "{}", show(&body));
        for (api, name) in [(&b, "the woken node"), (&c, "a live node")] {
            let (st, _) = api.whoami(&tok).await.unwrap();
            if st != 401 {
                stale.push(format!(
                    "round {round}: STALE: {name} answers whoami {st} for a revoked session"
                ));
            }
        }
        println!(
            "[nodes postgres] hung node, round {round}: the revocation was answered after {:.2} s (lease {} s)",
            took.as_secs_f64(),
            ostiary::persistence::cache_sync::LEASE.as_secs()
        );
    }
    for n in nodes.iter_mut() {
        n.kill();
    }
    assert!(stale.is_empty(), "{stale:?}");
}

// ---------------------------------------------------------------------------------------------
// Item 4: no false answers under load
// ---------------------------------------------------------------------------------------------

/// Never revoked: must always answer 200.
const STABLE: u8 = 0;
/// Created during the load, no revocation sent yet.
const LIVE: u8 = 1;
/// A revocation is in flight: either answer is right.
const REVOKING: u8 = 2;
/// The revocation was acknowledged: must answer 401 to any request sent afterwards.
const REVOKED: u8 = 3;

struct Tracked {
    id: String,
    token: String,
    state: AtomicU8,
}

#[derive(Default)]
struct LoadCounts {
    requests: AtomicU64,
    checked_200: AtomicU64,
    checked_401: AtomicU64,
    unchecked: AtomicU64,
    wrong_401: AtomicU64,
    wrong_200: AtomicU64,
    other: AtomicU64,
    created: AtomicU64,
    revoked: AtomicU64,
    problems: Mutex<Vec<String>>,
}

const LOAD_SECONDS: u64 = 10;
const WHOAMI_TASKS: usize = 16;
const CHURN_TASKS: usize = 4;
const STABLE_IDENTITIES: usize = 10;
const STABLE_SESSIONS_EACH: usize = 8;

async fn whoami_checker(
    api: Api,
    stable: Arc<Vec<Arc<Tracked>>>,
    churn: Arc<RwLock<Vec<Arc<Tracked>>>>,
    counts: Arc<LoadCounts>,
    deadline: Instant,
) {
    let mut rng = StdRng::from_entropy();
    while Instant::now() < deadline {
        let t = if rng.gen_bool(0.5) {
            stable[rng.gen_range(0..stable.len())].clone()
        } else {
            let c = churn.read().unwrap();
            // Half the time one of the latest: the freshly created and freshly revoked.
            let from = if rng.gen_bool(0.5) {
                c.len().saturating_sub(32)
            } else {
                0
            };
            c[rng.gen_range(from..c.len())].clone()
        };
        let before = t.state.load(Ordering::SeqCst);
        let res = api.whoami(&t.token).await;
        let after = t.state.load(Ordering::SeqCst);
        counts.requests.fetch_add(1, Ordering::Relaxed);
        let st = match res {
            Ok((st, _)) => st,
            Err(e) => {
                counts.other.fetch_add(1, Ordering::Relaxed);
                counts
                    .problems
                    .lock()
                    .unwrap()
                    .push(format!("whoami transport error: {e}"));
                continue;
            }
        };
        match (before, after, st) {
            (STABLE, _, 200) => counts.checked_200.fetch_add(1, Ordering::Relaxed),
            (STABLE, _, 401) => {
                counts.wrong_401.fetch_add(1, Ordering::Relaxed);
                counts.problems.lock().unwrap().push(format!(
                    "WRONG 401: session {} (never revoked) refused",
                    t.id
                ));
                0
            }
            (LIVE, LIVE, 200) => counts.checked_200.fetch_add(1, Ordering::Relaxed),
            (LIVE, LIVE, 401) => {
                counts.wrong_401.fetch_add(1, Ordering::Relaxed);
                counts.problems.lock().unwrap().push(format!(
                    "WRONG 401: session {} (created during the load, no revocation sent) refused",
                    t.id
                ));
                0
            }
            (REVOKED, _, 401) => counts.checked_401.fetch_add(1, Ordering::Relaxed),
            (REVOKED, _, 200) => {
                counts.wrong_200.fetch_add(1, Ordering::Relaxed);
                counts.problems.lock().unwrap().push(format!(
                    "WRONG 200: session {} accepted after its revocation was acknowledged",
                    t.id
                ));
                0
            }
            (_, _, 200 | 401) => counts.unchecked.fetch_add(1, Ordering::Relaxed),
            (_, _, other) => {
                counts.other.fetch_add(1, Ordering::Relaxed);
                counts
                    .problems
                    .lock()
                    .unwrap()
                    .push(format!("whoami answered {other} for session {}", t.id));
                0
            }
        };
    }
}

/// Creates and revokes sessions of its own identity until the deadline, with every revocation
/// kind; states move LIVE → REVOKING (request sent) → REVOKED (acknowledged).
async fn churner(
    api: Api,
    email: String,
    churn: Arc<RwLock<Vec<Arc<Tracked>>>>,
    counts: Arc<LoadCounts>,
    deadline: Instant,
) {
    let mut rng = StdRng::from_entropy();
    let mut live: Vec<Arc<Tracked>> = Vec::new();
    let problem = |p: String| counts.problems.lock().unwrap().push(p);
    while Instant::now() < deadline {
        if live.len() < 3 || (live.len() < 8 && rng.gen_bool(0.5)) {
            match api.login(&email).await {
                Ok((200, b)) => {
                    let t = Arc::new(Tracked {
                        id: s(&b["session"]["id"]),
                        token: s(&b["session_token"]),
                        state: AtomicU8::new(LIVE),
                    });
                    counts.created.fetch_add(1, Ordering::Relaxed);
                    churn.write().unwrap().push(t.clone());
                    live.push(t);
                }
                Ok((st, b)) => problem(format!("login under load answered {st}: {}", show(&b))),
                Err(e) => problem(format!("login under load: transport error {e}")),
            }
            continue;
        }
        let n = live.len();
        let kind = rng.gen_range(0..4);
        let cur = rng.gen_range(0..n);
        let targets: Vec<usize> = match kind {
            2 => (0..n).filter(|t| *t != cur).collect(),
            1 => vec![(cur + rng.gen_range(1..n)) % n],
            _ => vec![cur],
        };
        for t in &targets {
            live[*t].state.store(REVOKING, Ordering::SeqCst);
        }
        let (res, want, how) = match kind {
            0 => (api.logout(&live[cur].token).await, 204, "logout"),
            1 => (
                api.disable_my_session(&live[cur].token, &live[targets[0]].id)
                    .await,
                204,
                "disableMySession",
            ),
            2 => (
                api.disable_my_other_sessions(&live[cur].token).await,
                200,
                "disableMyOtherSessions",
            ),
            _ => (
                api.admin_disable_session(&live[cur].id).await,
                204,
                "adminDisableSession",
            ),
        };
        match res {
            Ok((st, b)) if st == want => {
                if kind == 2 && b["count"] != json!(targets.len()) {
                    problem(format!(
                        "disableMyOtherSessions counted {} for {} other live sessions",
                        b["count"],
                        targets.len()
                    ));
                }
                for t in &targets {
                    live[*t].state.store(REVOKED, Ordering::SeqCst);
                }
                counts
                    .revoked
                    .fetch_add(targets.len() as u64, Ordering::Relaxed);
            }
            // Not acknowledged: the sessions stay REVOKING (never checked again).
            Ok((st, b)) => problem(format!("{how} under load answered {st}: {}", show(&b))),
            Err(e) => problem(format!("{how} under load: transport error {e}")),
        }
        let mut idx = targets;
        idx.sort_unstable();
        for t in idx.into_iter().rev() {
            live.remove(t);
        }
    }
}

async fn no_false_answers_under_load(db: Db) {
    let label = db.label();
    db.migrate();
    let mut node = Node::new(&db, &format!("load-{label}"));
    node.start().await;
    let api = node.api();

    // Stable sessions (never revoked) and churn identities, made before the load.
    let mut emails = Vec::new();
    for _ in 0..STABLE_IDENTITIES + CHURN_TASKS {
        let e = email("load");
        let (st, b) = api.create_identity(&e).await.unwrap();
        assert_eq!(st, 201, "{}", show(&b));
        emails.push(e);
    }
    let logins: Vec<(String, String)> = futures::stream::iter(
        emails[..STABLE_IDENTITIES]
            .iter()
            .flat_map(|e| std::iter::repeat_n(e.clone(), STABLE_SESSIONS_EACH)),
    )
    .map(|e| {
        let api = api.clone();
        async move {
            let (st, b) = api.login(&e).await.unwrap();
            assert_eq!(st, 200, "{}", show(&b));
            (s(&b["session"]["id"]), s(&b["session_token"]))
        }
    })
    .buffer_unordered(8)
    .collect()
    .await;
    let stable: Arc<Vec<Arc<Tracked>>> = Arc::new(
        logins
            .into_iter()
            .map(|(id, token)| {
                Arc::new(Tracked {
                    id,
                    token,
                    state: AtomicU8::new(STABLE),
                })
            })
            .collect(),
    );
    // The churn pool starts with a few sessions revoked before the load.
    let churn: Arc<RwLock<Vec<Arc<Tracked>>>> = Arc::new(RwLock::new(Vec::new()));
    for e in &emails[STABLE_IDENTITIES..] {
        for _ in 0..2 {
            let (st, b) = api.login(e).await.unwrap();
            assert_eq!(st, 200);
            let (st, _) = api.logout(&s(&b["session_token"])).await.unwrap();
            assert_eq!(st, 204);
            churn.write().unwrap().push(Arc::new(Tracked {
                id: s(&b["session"]["id"]),
                token: s(&b["session_token"]),
                state: AtomicU8::new(REVOKED),
            }));
        }
    }

    let counts = Arc::new(LoadCounts::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(LOAD_SECONDS);
    let mut tasks = Vec::new();
    for e in &emails[STABLE_IDENTITIES..] {
        tasks.push(tokio::spawn(churner(
            api.clone(),
            e.clone(),
            churn.clone(),
            counts.clone(),
            deadline,
        )));
    }
    for _ in 0..WHOAMI_TASKS {
        tasks.push(tokio::spawn(whoami_checker(
            api.clone(),
            stable.clone(),
            churn.clone(),
            counts.clone(),
            deadline,
        )));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    node.kill();
    let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
    let problems = counts.problems.lock().unwrap().clone();
    println!(
        "[load {label}] {:.1} s, {WHOAMI_TASKS} whoami tasks + {CHURN_TASKS} churn tasks over {} stable sessions: {} whoami requests ({:.0}/s), {} checked (expected 200: {}, expected 401: {}), {} unchecked (revocation in flight); {} sessions created and {} revoked during the load; wrong 401s: {}, wrong 200s: {}, other answers/errors: {}",
        elapsed,
        stable.len(),
        get(&counts.requests),
        get(&counts.requests) as f64 / elapsed,
        get(&counts.checked_200) + get(&counts.checked_401),
        get(&counts.checked_200),
        get(&counts.checked_401),
        get(&counts.unchecked),
        get(&counts.created),
        get(&counts.revoked),
        get(&counts.wrong_401),
        get(&counts.wrong_200),
        get(&counts.other)
    );
    print_anomalies(&format!("[load {label}] problems"), &problems);
    assert_eq!(
        get(&counts.wrong_401),
        0,
        "{label}: wrong 401s: {problems:?}"
    );
    assert_eq!(
        get(&counts.wrong_200),
        0,
        "{label}: wrong 200s: {problems:?}"
    );
    assert!(problems.is_empty(), "{label}: {problems:?}");
    assert!(
        get(&counts.checked_200) > 0 && get(&counts.checked_401) > 0 && get(&counts.revoked) > 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_false_answers_under_load_sqlite() {
    no_false_answers_under_load(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_false_answers_under_load_postgres() {
    if !postgres_available().await {
        return;
    }
    no_false_answers_under_load(Db::postgres().await).await;
}
