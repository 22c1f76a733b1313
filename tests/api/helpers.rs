//! Test harness: spawn the real server in-process on ephemeral ports against a fresh SQLite file or
//! a fresh PostgreSQL database, and talk HTTP to it like a client would.

use ostiary::config::Config;
use ostiary::registry::Registry;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub public_url: String,
    pub admin_url: String,
    /// Keeps cookies, never follows redirects (so tests can assert 303s).
    pub client: reqwest::Client,
    pub registry: Registry,
    _guard: Arc<DbGuard>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Removes the temporary SQLite file or drops the PostgreSQL database.
struct DbGuard {
    _dir: Option<tempfile::TempDir>,
    pg_db: Option<String>,
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let Some(db) = self.pg_db.take() {
            drop_pg_database(db);
        }
    }
}

/// Drop a test's PostgreSQL database, on a thread with its own runtime (Drop may run inside one).
pub fn drop_pg_database(db: String) {
    let admin = pg_admin_url();
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use sqlx::Connection;
            if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                    .execute(&mut c)
                    .await;
            }
        });
    })
    .join();
}

/// Create a fresh PostgreSQL database named `<prefix>_<random>`; its name and URL.
pub async fn create_pg_database(prefix: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
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
    (name, url.to_string())
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether PostgreSQL tests run: always under CI (an unreachable server fails them); locally they
/// are skipped with a loud notice when no server answers.
pub async fn postgres_available() -> bool {
    use sqlx::Connection;
    let reachable = sqlx::PgConnection::connect(&pg_admin_url()).await.is_ok();
    if !reachable {
        if std::env::var("CI")
            .map(|v| v == "true" || v == "1")
            .unwrap_or(false)
        {
            panic!(
                "CI is set but PostgreSQL at {} is not reachable",
                pg_admin_url()
            );
        }
        eprintln!(
            "\n!!! SKIPPING PostgreSQL test: no server at {} (set TEST_POSTGRES_URL) !!!\n",
            pg_admin_url()
        );
    }
    reachable
}

pub fn base_config() -> Value {
    json!({
        "dev": true,
        "selfservice": {
            "default_browser_return_url": "http://app.example.com/",
            "allowed_return_urls": ["http://app.example.com/", "https://allowed.example.com/welcome"],
            "flows": {
                "registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}
            }
        },
        "secrets": {"cookie": ["a-very-secret-cookie-secret-0001"]},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}}
    })
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, base_config()).await
}

/// Spawn with extra config merged over the base (objects merge, other values replace).
pub async fn spawn_app_with(backend: Backend, overlay: Value) -> TestApp {
    let (dsn, guard) = fresh_database(backend).await;
    start(dsn, Arc::new(guard), overlay).await
}

/// Another server node on the database of `app` (same secrets), for multi-node tests.
pub async fn spawn_node_on(app: &TestApp, overlay: Value) -> TestApp {
    let dsn = app.registry.config.dsn.clone().unwrap();
    start(dsn, app._guard.clone(), overlay).await
}

async fn fresh_database(backend: Backend) -> (String, DbGuard) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let dsn = format!("sqlite://{}/ostiary.sqlite", dir.path().display());
            (
                dsn,
                DbGuard {
                    _dir: Some(dir),
                    pg_db: None,
                },
            )
        }
        Backend::Postgres => {
            let (name, url) = create_pg_database("ostiary_test").await;
            (
                url,
                DbGuard {
                    _dir: None,
                    pg_db: Some(name),
                },
            )
        }
    }
}

async fn start(dsn: String, guard: Arc<DbGuard>, overlay: Value) -> TestApp {
    let mut raw = base_config();
    merge(&mut raw, overlay);
    raw["dsn"] = json!(dsn);
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", public.local_addr().unwrap());
    let admin_url = format!("http://{}", admin.local_addr().unwrap());
    raw["serve"]["public"]["base_url"] = json!(format!("{public_url}/"));
    raw["serve"]["admin"]["base_url"] = json!(format!("{admin_url}/"));
    let config = Config::from_value(raw).expect("test config is valid");
    let registry = Registry::build(config).await.expect("registry builds");
    registry
        .persister
        .migrate()
        .await
        .expect("migrations apply");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // The janitor runs as `serve` runs it (on unless the config turns it off). Its first pass runs
    // at once; waiting for it here keeps it from racing a test that moves the clock.
    let (janitor_stop, janitor_stopped) = tokio::sync::oneshot::channel::<()>();
    let cleanup = registry.config.ostiary.cleanup.clone();
    if cleanup.enabled {
        let mut passes = registry.persister.cleanup_passes();
        let before = *passes.borrow_and_update();
        tokio::spawn(ostiary::persistence::cleanup::janitor(
            registry.persister.clone(),
            registry.clock.clone(),
            cleanup,
            async {
                let _ = janitor_stopped.await;
            },
        ));
        passes
            .wait_for(|n| *n > before)
            .await
            .expect("the janitor's first pass");
    }
    let r = registry.clone();
    tokio::spawn(async move {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let courier = tokio::spawn(ostiary::courier::dispatcher::run(
            r.clone(),
            std::time::Duration::from_millis(200),
            async {
                let _ = stop_rx.await;
            },
        ));
        let _ = ostiary::http::serve(r, public, admin, async {
            let _ = rx.await;
        })
        .await;
        let _ = stop_tx.send(());
        let _ = janitor_stop.send(());
        let _ = courier.await;
    });
    TestApp {
        public_url,
        admin_url,
        client: new_client(),
        registry,
        _guard: guard,
        shutdown: Some(tx),
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

impl TestApp {
    pub fn admin(&self, path: &str) -> String {
        format!("{}{}", self.admin_url, path)
    }
    pub fn public(&self, path: &str) -> String {
        format!("{}{}", self.public_url, path)
    }

    /// `createIdentity` with an email and a password; returns the identity JSON.
    pub async fn create_identity(&self, email: &str, password: Option<&str>) -> Value {
        let mut body = json!({"schema_id": "default", "traits": {"email": email}});
        if let Some(p) = password {
            body["credentials"] = json!({"password": {"config": {"password": p}}});
        }
        let res = self
            .client
            .post(self.admin("/admin/identities"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "create identity");
        res.json().await.unwrap()
    }
}

/// Run one async test body against SQLite and then PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let f = $body;
                f($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if !$crate::helpers::postgres_available().await {
                    return;
                }
                let f = $body;
                f($crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await).await;
            }
        }
    };
}

/// As `both_backends!`, on a configuration with `$overlay` merged in.
#[macro_export]
macro_rules! both_backends_with {
    ($name:ident, $overlay:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let f = $body;
                f(
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Sqlite, $overlay)
                        .await,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if !$crate::helpers::postgres_available().await {
                    return;
                }
                let f = $body;
                f(
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Postgres, $overlay)
                        .await,
                )
                .await;
            }
        }
    };
}

impl TestApp {
    /// `createNativeLoginFlow` + `updateLoginFlow` with a password; returns the session token.
    pub async fn native_login(&self, identifier: &str, password: &str) -> String {
        let c = reqwest::Client::new();
        let flow: Value = c
            .get(self.public("/self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = flow["id"].as_str().unwrap();
        let res = c
            .post(self.public(&format!("/self-service/login?flow={id}")))
            .json(&json!({"method": "password", "identifier": identifier, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "native login");
        let body: Value = res.json().await.unwrap();
        body["session_token"].as_str().unwrap().to_string()
    }

    /// `toSession` with a session token: (status, body).
    pub async fn whoami(&self, token: &str) -> (u16, Value) {
        let res = reqwest::Client::new()
            .get(self.public("/sessions/whoami"))
            .header("X-Session-Token", token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// `GET /self-service/<kind>/api` (with a session token when given): the new native flow.
pub async fn api_flow(app: &TestApp, kind: &str, token: Option<&str>) -> Value {
    let mut req = reqwest::Client::new().get(app.public(&format!("/self-service/{kind}/api")));
    if let Some(t) = token {
        req = req.header("X-Session-Token", t);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{kind} init");
    res.json().await.unwrap()
}

/// `POST /self-service/<kind>?flow=` with a JSON body, a session token and an `X-Forwarded-For`
/// client address when given: the status and the JSON answer (Null if none).
pub async fn submit_flow(
    app: &TestApp,
    kind: &str,
    flow: &Value,
    body: Value,
    token: Option<&str>,
    forwarded: Option<&str>,
) -> (u16, Value) {
    let id = flow["id"].as_str().unwrap();
    let mut req = reqwest::Client::new()
        .post(app.public(&format!("/self-service/{kind}?flow={id}")))
        .json(&body);
    if let Some(t) = token {
        req = req.header("X-Session-Token", t);
    }
    if let Some(ip) = forwarded {
        req = req.header("X-Forwarded-For", ip);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A real SMTP server (aiosmtpd, see tests/smtp/server.py) that stores delivered mail as files.
pub struct MailServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl MailServer {
    pub async fn start() -> MailServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut m = MailServer {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        m.restart().await;
        m
    }

    /// Start (again) on the same port and directory.
    pub async fn restart(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/server.py");
        let child = std::process::Command::new("python3")
            .args([
                script,
                &self.port.to_string(),
                self.dir.path().to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the SMTP test server did not start (is aiosmtpd installed?)");
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn uri(&self) -> String {
        format!("smtp://127.0.0.1:{}/?disable_starttls=true", self.port)
    }

    /// Every delivered message, in delivery order.
    pub fn all(&self) -> Vec<Mail> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().map(|x| x == "eml").unwrap_or(false))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| parse_mail(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    /// Wait (bounded, 20 s) until `n` messages for `to` have arrived; returns them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Mail> {
        for _ in 0..400 {
            let got: Vec<Mail> = self.all().into_iter().filter(|m| m.to == to).collect();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("expected {n} message(s) for {to}, got {:?}", self.all());
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn parse_mail(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let header = |name: &str| {
        head.lines()
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .map(|l| l.split_once(':').unwrap().1.trim().to_string())
            .unwrap_or_default()
    };
    let body = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable") {
        decode_quoted_printable(body)
    } else {
        body.to_string()
    };
    Mail {
        to: header("X-Envelope-To"),
        subject: header("Subject"),
        body,
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The first run of six digits in a text (a code in an email).
pub fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    for i in 0..chars.len().saturating_sub(5) {
        if chars[i..i + 6].iter().all(|c| c.is_ascii_digit())
            && (i == 0 || !chars[i - 1].is_ascii_digit())
            && chars
                .get(i + 6)
                .map(|c| !c.is_ascii_digit())
                .unwrap_or(true)
        {
            return chars[i..i + 6].iter().collect();
        }
    }
    panic!("no code in {text:?}");
}

/// Spawn an app with recovery and verification on and a real SMTP server behind the courier.
pub async fn spawn_app_with_mail(backend: Backend, overlay: Value) -> (TestApp, MailServer) {
    let mail = MailServer::start().await;
    let mut config = json!({
        "courier": {"smtp": {"connection_uri": mail.uri(), "from_address": "no-reply@ostiary.test"}},
        "selfservice": {"flows": {"recovery": {"enabled": true}, "verification": {"enabled": true}}}
    });
    merge(&mut config, overlay);
    (spawn_app_with(backend, config).await, mail)
}

/// Run one async test body (taking the app and its mail server) on SQLite and PostgreSQL.
#[macro_export]
macro_rules! both_backends_with_mail {
    ($name:ident, $overlay:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, mail) = $crate::helpers::spawn_app_with_mail(
                    $crate::helpers::Backend::Sqlite,
                    $overlay,
                )
                .await;
                let f = $body;
                f(app, mail).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if !$crate::helpers::postgres_available().await {
                    return;
                }
                let (app, mail) = $crate::helpers::spawn_app_with_mail(
                    $crate::helpers::Backend::Postgres,
                    $overlay,
                )
                .await;
                let f = $body;
                f(app, mail).await;
            }
        }
    };
}
