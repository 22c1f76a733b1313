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

use crate::helpers::{
    create_pg_database, drop_pg_database, free_port, postgres_available, PASSWORD,
};
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
        let (name, dsn) = create_pg_database("ostiary_resilience").await;
        Db {
            dsn,
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
            drop_pg_database(db);
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
    /// Whether the node has answered ready once (its ports are its own from then on).
    ever_ready: bool,
    dsn: String,
}

impl Node {
    fn new(db: &Db, name: &str) -> Node {
        let mut node = Node {
            name: name.to_string(),
            public: 0,
            admin: 0,
            log: db.dir.path().join(format!("{name}.log")),
            config: db.dir.path().join(format!("{name}.yaml")),
            child: None,
            starts: 0,
            ever_ready: false,
            dsn: db.dsn.clone(),
        };
        node.bind_new_ports();
        node
    }

    /// Pick two free ports and write the node's configuration for them. A port found free may be
    /// taken by another test before the node binds it; a first start that finds it taken comes here
    /// again.
    fn bind_new_ports(&mut self) {
        let (public, admin) = (free_port(), free_port());
        self.public = public;
        self.admin = admin;
        let raw = json!({
            "dsn": self.dsn,
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
        std::fs::write(&self.config, serde_json::to_string_pretty(&raw).unwrap()).unwrap();
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
        for _attempt in 0..5 {
            let ready = [
                format!("http://127.0.0.1:{}/health/ready", self.public),
                format!("http://127.0.0.1:{}/admin/health/ready", self.admin),
            ];
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
                    self.ever_ready = true;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            if !exited {
                break;
            }
            if !self.ever_ready && self.log_tail().contains("Address already in use") {
                // Another test took a port between free_port() and the bind: take two others.
                self.bind_new_ports();
                continue;
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

mod crash;
mod load;
mod nodes;
