//! The `ostiary` binary itself: a real Kratos config file starts it unchanged, bad config stops it
//! with one line naming the key, `migrate sql` is idempotent, and `serve` refuses an un-migrated
//! database outside `--dev`.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ostiary");

use crate::helpers::free_port;

pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until `url` answers 200 (bounded: the process is also checked for an early exit).
pub(crate) async fn wait_ready(server: &mut Server, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("server exited early with {status}");
        }
        if let Ok(res) = reqwest::get(url).await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready at {url}");
}

/// Run the binary to completion: (exit success, stderr).
pub(crate) fn run(args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("DSN")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout),
    )
}

pub(crate) fn kratos_config(
    dir: &std::path::Path,
    public: u16,
    admin: u16,
    extra: &str,
) -> std::path::PathBuf {
    let schema = dir.join("identity.schema.json");
    std::fs::write(
        &schema,
        r#"{"$id":"https://example.com/person.schema.json","$schema":"http://json-schema.org/draft-07/schema#",
            "title":"Person","type":"object","properties":{"traits":{"type":"object","properties":{
            "email":{"type":"string","format":"email","title":"E-Mail","ory.sh/kratos":{
            "credentials":{"password":{"identifier":true}},"verification":{"via":"email"},"recovery":{"via":"email"}}},
            "name":{"type":"object","properties":{"first":{"type":"string"},"last":{"type":"string"}}}},
            "required":["email"],"additionalProperties":false}}}"#,
    )
    .unwrap();
    let config = dir.join("kratos.yml");
    std::fs::write(
        &config,
        format!(
            r#"version: v1.3.0
dsn: sqlite://{db}?_fk=true
serve:
  public:
    base_url: http://127.0.0.1:{public}/
    host: 127.0.0.1
    port: {public}
    cors:
      enabled: true
      allowed_origins:
        - http://127.0.0.1:4455
  admin:
    base_url: http://127.0.0.1:{admin}/
    host: 127.0.0.1
    port: {admin}
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  allowed_return_urls:
    - http://127.0.0.1:4455
  methods:
    password:
      enabled: true
    totp:
      enabled: true
      config:
        issuer: Kratos
  flows:
    error:
      ui_url: http://127.0.0.1:4455/error
    settings:
      ui_url: http://127.0.0.1:4455/settings
      privileged_session_max_age: 15m
    recovery:
      enabled: true
      ui_url: http://127.0.0.1:4455/recovery
    verification:
      enabled: true
      ui_url: http://127.0.0.1:4455/verification
    logout:
      after:
        default_browser_return_url: http://127.0.0.1:4455/login
    login:
      ui_url: http://127.0.0.1:4455/login
      lifespan: 10m
    registration:
      lifespan: 10m
      ui_url: http://127.0.0.1:4455/registration
      after:
        password:
          hooks:
            - hook: session
log:
  level: debug
  format: text
  leak_sensitive_values: false
secrets:
  cookie:
    - PLEASE-CHANGE-ME-I-AM-VERY-INSECURE
  cipher:
    - 32-LONG-SECRET-NOT-SECURE-AT-ALL
ciphers:
  algorithm: xchacha20-poly1305
hashers:
  algorithm: bcrypt
  bcrypt:
    cost: 8
session:
  lifespan: 12h
  cookie:
    same_site: Lax
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: file://{schema}
courier:
  smtp:
    connection_uri: smtps://test:test@mailslurper:1025/?skip_ssl_verify=true
{extra}"#,
            db = dir.join("db.sqlite").display(),
            schema = schema.display(),
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kratos_config_file_starts_the_server_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let config = kratos_config(dir.path(), public, admin, "");
    let cfg = config.to_str().unwrap();
    // Outside --dev an un-migrated database is refused, naming the command.
    let (ok, out) = run(&["serve", "-c", cfg], &[]);
    assert!(!ok);
    assert!(out.contains("migrate sql"), "{out}");
    // migrate sql is idempotent.
    let dsn = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let (ok, out) = run(&["migrate", "sql", &dsn, "--yes"], &[]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["migrate", "sql", "-e", "--yes"], &[("DSN", &dsn)]);
    assert!(ok, "{out}");
    assert!(out.contains("already applied"), "{out}");

    let mut child = Command::new(BIN)
        .args(["serve", "-c", cfg])
        .env_remove("DSN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut server = Server(child);
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let c = reqwest::Client::new();
    let res = c
        .get(format!("http://127.0.0.1:{admin}/admin/identities"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "[]\n");
    let res = c
        .post(format!("http://127.0.0.1:{admin}/admin/identities"))
        .json(&serde_json::json!({"schema_id": "default", "traits": {"email": "a@example.com", "name": {"first": "A"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let schemas: Value = c
        .get(format!("http://127.0.0.1:{public}/schemas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schemas[0]["schema"]["title"], "Person");
    // Graceful shutdown on SIGTERM.
    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.0.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let log = lines.join().unwrap().join("\n");
    assert!(log.contains("public API listening on"), "{log}");
    assert!(log.contains("admin API listening on"), "{log}");
    assert!(
        log.contains("accepted but not implemented"),
        "one warning line for unimplemented keys: {log}"
    );
    assert!(log.contains("secrets.cipher"), "{log}");
    assert!(
        !log.contains("selfservice.methods.totp"),
        "TOTP is acted on: {log}"
    );
    assert!(
        !log.contains("lets any web site read"),
        "listed origins need no CORS warning: {log}"
    );
}

/// A config file's text, extra environment, and the key path the error must name.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_configuration_stops_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [Case; 6] = [
        ("selfservice:\n  flowz: {}\n", &[], "selfservice.flowz"),
        ("serve:\n  public:\n    prot: 1\n", &[], "serve.public.prot"),
        (
            "",
            &[("SERVE_PUBLIC_PORT", "not-a-port")],
            "serve.public.port",
        ),
        ("hashers:\n  algorithm: md5\n", &[], "hashers.algorithm"),
        ("", &[("DSN", "mysql://x")], "dsn"),
        (
            "",
            &[
                ("IDENTITY_SCHEMAS_0_ID", "default"),
                ("IDENTITY_SCHEMAS_0_URL", "file:///does/not/exist.json"),
            ],
            "identity.schemas.0.url",
        ),
    ];
    for (i, (yaml, env, key)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("c{i}.yml"));
        std::fs::write(&path, yaml).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--dev", "-c", path.to_str().unwrap()])
            .env("SERVE_PUBLIC_PORT", free_port().to_string())
            .env("SERVE_ADMIN_PORT", free_port().to_string())
            .env("DSN", "memory");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {key} must fail");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.contains(key), "case {key}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_needs_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["serve", "--dev"])
        .current_dir(dir.path())
        .env_remove("DSN")
        .env("SERVE_PUBLIC_PORT", public.to_string())
        .env("SERVE_ADMIN_PORT", admin.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    assert!(
        dir.path().join("ostiary.sqlite").exists(),
        "embedded SQLite file created"
    );
    let v: Value = reqwest::get(format!("http://127.0.0.1:{public}/schemas/default"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["properties"]["traits"]["properties"]["email"].is_object());
    let (ok, out) = run(&["version"], &[]);
    assert!(ok && out.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn cleanup_sql_runs_against_a_migrated_database() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!("sqlite://{}", dir.path().join("c.sqlite").display());
    let (ok, out) = run(&["migrate", "sql", &dsn, "--yes"], &[]);
    assert!(ok, "{out}");
    let (ok, out) = run(
        &[
            "cleanup",
            "sql",
            &dsn,
            "--keep-last",
            "1h",
            "--batch-size",
            "10",
        ],
        &[],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Deleted 0 rows"), "{out}");
    let (ok, out) = run(&["cleanup", "sql", &dsn, "--keep-last", "soon"], &[]);
    assert!(!ok && out.contains("--keep-last"), "{out}");
}

/// No secret ever appears in a log line: run registration, login, whoami, recovery by code and
/// logout against the binary at the most verbose log level, then search its logs for every password,
/// token, code and cookie value the flows used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_contain_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let config = kratos_config(dir.path(), public, admin, "");
    let dsn = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    assert!(run(&["migrate", "sql", &dsn, "--yes"], &[]).0);
    let log_path = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--dev", "-c", config.to_str().unwrap()])
        .env_remove("DSN")
        .env("LOG_LEVEL", "trace")
        .env("SELFSERVICE_FLOWS_RECOVERY_ENABLED", "true")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let mut server = Server(child);
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let p = |path: &str| format!("http://127.0.0.1:{public}{path}");
    let c = reqwest::Client::new();
    let password = "Zebra-Quartz-Lantern-9931";
    let mut secrets: Vec<String> = vec![password.to_string()];
    let flow: Value = c
        .get(p("/self-service/registration/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reg: Value = c
        .post(p(&format!("/self-service/registration?flow={}", flow["id"].as_str().unwrap())))
        .json(&serde_json::json!({"method": "password", "traits": {"email": "secret@example.com"}, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(reg["session_token"].as_str().unwrap().to_string());
    let flow: Value = c
        .get(p("/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login: Value = c
        .post(p(&format!("/self-service/login?flow={}", flow["id"].as_str().unwrap())))
        .json(&serde_json::json!({"method": "password", "identifier": "secret@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["session_token"].as_str().unwrap().to_string();
    secrets.push(token.clone());
    c.get(p("/sessions/whoami"))
        .header("X-Session-Token", &token)
        .send()
        .await
        .unwrap();
    c.get(p("/sessions/whoami"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let identity_id = login["session"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let code: Value = c
        .post(format!("http://127.0.0.1:{admin}/admin/recovery/code"))
        .json(&serde_json::json!({"identity_id": identity_id, "flow_type": "api"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(code["recovery_code"].as_str().unwrap().to_string());
    let link: Value = c
        .post(format!("http://127.0.0.1:{admin}/admin/recovery/link"))
        .json(&serde_json::json!({"identity_id": identity_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_token = link["recovery_link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    secrets.push(link_token);
    // A failed login with a wrong password that must not be logged either.
    let flow: Value = c
        .get(p("/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.post(p(&format!("/self-service/login?flow={}", flow["id"].as_str().unwrap())))
        .json(&serde_json::json!({"method": "password", "identifier": "secret@example.com", "password": "Wrong-Guess-Kestrel-77"}))
        .send()
        .await
        .unwrap();
    secrets.push("Wrong-Guess-Kestrel-77".into());
    c.delete(p("/self-service/logout/api"))
        .json(&serde_json::json!({"session_token": token}))
        .send()
        .await
        .unwrap();
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.lines().count() > 5, "trace logging produced output");
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "secret {s:?} found in the logs");
    }
    println!(
        "log secrets check: {} log lines, {} secrets, 0 found",
        log.lines().count(),
        secrets.len()
    );
}

/// `ostiary courier watch` delivers what another node queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courier_watch_delivers_queued_mail() {
    let mail = crate::helpers::MailServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!("sqlite://{}", dir.path().join("w.sqlite").display());
    assert!(run(&["migrate", "sql", &dsn, "--yes"], &[]).0);
    let persister = ostiary::persistence::Persister::connect(
        &ostiary::persistence::DsnKind::parse(&dsn).unwrap(),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    persister
        .enqueue_message(&ostiary::persistence::courier::Message {
            id: uuid::Uuid::new_v4(),
            kind: "email".into(),
            status: "queued".into(),
            recipient: "worker@example.com".into(),
            subject: "Queued elsewhere".into(),
            body: "Delivered by the worker.".into(),
            template_type: "verification_code_valid".into(),
            channel: "email".into(),
            send_count: 0,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    persister.close().await;
    let config = dir.path().join("worker.yml");
    std::fs::write(
        &config,
        format!(
            "dsn: {dsn}\nselfservice:\n  default_browser_return_url: http://127.0.0.1:4455/\ncourier:\n  smtp:\n    connection_uri: {}\n",
            mail.uri()
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args(["courier", "watch", "-c", config.to_str().unwrap()])
        .env_remove("DSN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _worker = Server(child);
    let got = mail.wait_for("worker@example.com", 1).await;
    assert_eq!(got[0].subject, "Queued elsewhere");
}

/// `serve` with no `ostiary.cleanup` settings runs the janitor: its first pass, at start, deletes a
/// flow that expired two days ago (past the default 24 h retention) and keeps one that expired an
/// hour ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_janitor_by_default() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!("sqlite://{}", dir.path().join("j.sqlite").display());
    assert!(run(&["migrate", "sql", &dsn, "--yes"], &[]).0);
    let now = chrono::Utc::now().timestamp_micros();
    let hour = 3_600_000_000i64;
    let (old, recent) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let mut db = sqlx::SqliteConnection::connect(&dsn).await.unwrap();
    for (id, expired_hours_ago) in [(old, 48), (recent, 1)] {
        sqlx::query(
            "INSERT INTO selfservice_flows (id, kind, type, state, body, expires_at, created_at, updated_at) \
             VALUES ($1, 'login', 'api', 'choose_method', '{}', $2, $3, $3)",
        )
        .bind(id.to_string())
        .bind(now - expired_hours_ago * hour)
        .bind(now - (expired_hours_ago + 1) * hour)
        .execute(&mut db)
        .await
        .unwrap();
    }
    let (public, admin) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["serve", "--dev"])
        .current_dir(dir.path())
        .env("DSN", &dsn)
        .env("SERVE_PUBLIC_PORT", public.to_string())
        .env("SERVE_ADMIN_PORT", admin.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let remaining = loop {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM selfservice_flows ORDER BY id")
            .fetch_all(&mut db)
            .await
            .unwrap();
        if ids.len() <= 1 || Instant::now() >= deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(remaining, vec![recent.to_string()]);
}
