//! Parity and hardening: the command-line forms Kratos documents, the `log` section, CORS with
//! Kratos's permissive defaults, and SMTP transport security (STARTTLS, client certificates).

use crate::cli::{kratos_config, run, wait_ready, Server, BIN};
use crate::helpers::free_port;
use crate::helpers::{postgres_available, spawn_app_with, Backend, MailServer, TestApp};
use ostiary::persistence::courier::Message;
use ostiary::persistence::{DsnKind, Persister};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start the binary with its log (stderr) going to `log`.
fn spawn(args: &[&str], envs: &[(&str, &str)], log: &Path) -> Server {
    let child = Command::new(BIN)
        .args(args)
        .env_remove("DSN")
        .env_remove("RUST_LOG")
        .env_remove("LOG_LEVEL")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Server(child)
}

/// Stop the server with SIGTERM (so it finishes its log lines) and return its log.
fn stop(mut server: Server, log: &Path) -> String {
    let pid = server.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = server.0.wait();
    std::fs::read_to_string(log).unwrap()
}

fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

/// Run `cmd` (the binary expected to stop at start) to completion, bounded: one still running
/// after 30 s is stopped and fails the test. Returns (success, stderr).
fn run_to_exit(cmd: &mut Command) -> (bool, String) {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after 30 s: {}",
                std::fs::read_to_string(err.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.success(),
        std::fs::read_to_string(err.path()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_forms_kratos_documents_work() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let config = kratos_config(dir.path(), public, admin, "");
    let cfg = config.to_str().unwrap();
    let dsn = format!("sqlite://{}", dir.path().join("db.sqlite").display());

    // The quickstart's migration: the root-level -c, then `migrate sql -e --yes` with DSN set.
    let (ok, out) = run(
        &["-c", cfg, "migrate", "sql", "-e", "--yes"],
        &[("DSN", &dsn)],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Applied"), "{out}");
    // Without DSN, -e reads the dsn of the files given with -c.
    let (ok, out) = run(&["--config", cfg, "migrate", "sql", "-e", "--yes"], &[]);
    assert!(ok, "{out}");
    assert!(out.contains("already applied"), "{out}");
    let (ok, out) = run(&["migrate", "sql", "-e", "--yes"], &[]);
    assert!(!ok && out.contains("DSN environment variable"), "{out}");

    // `serve -c … --sqa-opt-out --watch-courier`, the quickstart's form.
    let log = dir.path().join("serve.log");
    let mut server = spawn(
        &["serve", "-c", cfg, "--sqa-opt-out", "--watch-courier"],
        &[],
        &log,
    );
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let text = stop(server, &log);
    let sqa = lines_with(&text, "sqa-opt-out");
    assert_eq!(sqa.len(), 1, "exactly one telemetry line: {text}");
    assert!(sqa[0].contains("no usage statistics"), "{text}");
    let watch = lines_with(&text, "--watch-courier");
    assert_eq!(watch.len(), 1, "{text}");
    assert!(watch[0].contains("always runs inside serve"), "{text}");

    // The root-level -c before `serve`; no flag, no telemetry line.
    let mut server = spawn(&["-c", cfg, "serve"], &[], &log);
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let text = stop(server, &log);
    assert!(text.contains("public API listening on"), "{text}");
    assert!(lines_with(&text, "sqa-opt-out").is_empty(), "{text}");
}

#[test]
fn cockroach_and_mysql_dsns_stop_the_start_with_the_alternatives() {
    for dsn in [
        "cockroach://root@127.0.0.1:26257/defaultdb?sslmode=disable",
        "cockroachdb://root@127.0.0.1:26257/defaultdb",
        "mysql://root:secret@tcp(127.0.0.1:3306)/kratos",
    ] {
        let (ok, err) = run_to_exit(
            Command::new(BIN)
                .args(["serve", "--dev"])
                .env("DSN", dsn)
                .env("SERVE_PUBLIC_PORT", free_port().to_string())
                .env("SERVE_ADMIN_PORT", free_port().to_string()),
        );
        assert!(!ok, "{dsn} must be refused");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.contains("dsn"), "{dsn}: {err}");
        assert!(last.contains("not supported yet"), "{dsn}: {err}");
        assert!(
            last.contains("postgres://") && last.contains("sqlite://"),
            "{dsn}: {err}"
        );
        let (ok, out) = run(&["migrate", "sql", dsn, "--yes"], &[]);
        assert!(!ok && out.contains("not supported yet"), "{dsn}: {out}");
    }
}

/// One message for `to` in the queue of the database at `dsn`.
async fn enqueue(dsn: &str, to: &str) -> (Persister, uuid::Uuid) {
    let persister = Persister::connect(&DsnKind::parse(dsn).unwrap())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let id = uuid::Uuid::new_v4();
    persister
        .enqueue_message(&Message {
            id,
            kind: "email".into(),
            status: "queued".into(),
            recipient: to.into(),
            subject: "Your code".into(),
            body: "123456".into(),
            template_type: "recovery_code_valid".into(),
            channel: "email".into(),
            send_count: 0,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    (persister, id)
}

/// Run `courier watch` with `log_yaml` in its configuration until it has sent one message to
/// `to`, and return its log.
async fn deliver_one(
    dir: &Path,
    dsn: &str,
    mail: &MailServer,
    to: &str,
    log_yaml: &str,
    envs: &[(&str, &str)],
) -> String {
    let (persister, id) = enqueue(dsn, to).await;
    let config = dir.join("worker.yml");
    std::fs::write(
        &config,
        format!(
            "dsn: {dsn}\nselfservice:\n  default_browser_return_url: http://127.0.0.1:4455/\ncourier:\n  smtp:\n    connection_uri: {}\n{log_yaml}",
            mail.uri()
        ),
    )
    .unwrap();
    let log = dir.join("worker.log");
    let mut server = spawn(
        &["courier", "watch", "-c", config.to_str().unwrap()],
        envs,
        &log,
    );
    // The log line is written before the attempt is recorded: once the message reads "sent",
    // the line is there.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "the worker exited with {status}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let (m, _) = persister.get_message(id).await.unwrap().unwrap();
        if m.status == "sent" {
            break;
        }
        assert!(Instant::now() < deadline, "message {id} not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    persister.close().await;
    stop(server, &log)
}

/// `log.level`, `log.format`, `log.leak_sensitive_values` and `log.redaction_text` change what
/// the process logs; RUST_LOG still overrides the level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_section_sets_level_format_and_redaction() {
    let mail = MailServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!("sqlite://{}", dir.path().join("log.sqlite").display());
    assert!(run(&["migrate", "sql", &dsn, "--yes"], &[]).0);
    let to = "leaky.person@example.com";

    // Defaults: text lines at info, the recipient redacted.
    let text = deliver_one(dir.path(), &dsn, &mail, to, "", &[]).await;
    let sent = lines_with(&text, "courier: message sent");
    assert_eq!(sent.len(), 1, "{text}");
    assert!(
        sent[0].contains(ostiary::config::DEFAULT_REDACTION_TEXT),
        "{text}"
    );
    assert!(!text.contains(to), "the recipient leaked: {text}");
    assert!(text.contains("courier worker started"), "{text}");
    assert!(serde_json::from_str::<Value>(sent[0]).is_err(), "{text}");

    // JSON lines, and the value itself once leaking is allowed.
    let text = deliver_one(
        dir.path(),
        &dsn,
        &mail,
        to,
        "log:\n  format: json\n  leak_sensitive_values: true\n",
        &[],
    )
    .await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    let sent: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "courier: message sent")
        .collect();
    assert_eq!(sent.len(), 1, "{text}");
    assert_eq!(sent[0]["recipient"], to);
    assert_eq!(sent[0]["level"], "INFO");

    // `warning`: nothing below it.
    let text = deliver_one(dir.path(), &dsn, &mail, to, "log:\n  level: warning\n", &[]).await;
    assert!(!text.contains("courier worker started"), "{text}");
    assert!(!text.contains("message sent"), "{text}");

    // RUST_LOG wins over log.level; a custom redaction text stands in for the value.
    let text = deliver_one(
        dir.path(),
        &dsn,
        &mail,
        to,
        "log:\n  level: error\n  redaction_text: '[hidden]'\n",
        &[("RUST_LOG", "info")],
    )
    .await;
    assert!(text.contains("courier worker started"), "{text}");
    let sent = lines_with(&text, "courier: message sent");
    assert_eq!(sent.len(), 1, "{text}");
    assert!(sent[0].contains("[hidden]"), "{text}");
    assert!(!text.contains(to), "{text}");
    assert_eq!(mail.wait_for(to, 4).await.len(), 4);
}

/// Kratos's defaults once CORS is on (any origin, credentials) still start, with one warning
/// line; `cors.debug` logs each decision; `--dev` is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_cors_warns_once_and_debug_logs_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let dsn = format!("sqlite://{}", dir.path().join("cors.sqlite").display());
    assert!(run(&["migrate", "sql", &dsn, "--yes"], &[]).0);
    let config = dir.path().join("cors.yml");
    std::fs::write(
        &config,
        format!(
            "dsn: {dsn}\nserve:\n  public:\n    host: 127.0.0.1\n    port: {public}\n    base_url: http://127.0.0.1:{public}/\n    cors:\n      enabled: true\n      debug: true\n  admin:\n    host: 127.0.0.1\n    port: {admin}\n    base_url: http://127.0.0.1:{admin}/\nselfservice:\n  default_browser_return_url: http://127.0.0.1:4455/\n"
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let log = dir.path().join("cors.log");
    let mut server = spawn(&["serve", "-c", cfg], &[], &log);
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let c = reqwest::Client::new();
    let whoami = format!("http://127.0.0.1:{public}/sessions/whoami");
    let res = c
        .get(&whoami)
        .header("Origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://spa.example.com"
    );
    let res = c
        .get(&whoami)
        .header("Origin", "null")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let text = stop(server, &log);
    let warnings = lines_with(&text, "lets any web site read");
    assert_eq!(warnings.len(), 1, "one warning line: {text}");
    assert!(warnings[0].contains("WARN"), "{text}");
    assert!(warnings[0].contains("allowed_origins"), "{text}");
    assert_eq!(lines_with(&text, "cors: origin allowed").len(), 1, "{text}");
    let refused = lines_with(&text, "cors: origin refused");
    assert_eq!(refused.len(), 1, "{text}");
    assert!(refused[0].contains("origin=null"), "{text}");

    // --dev: no warning.
    let (public, admin) = (free_port(), free_port());
    let public_port = public.to_string();
    let admin_port = admin.to_string();
    let mut server = spawn(
        &["serve", "--dev"],
        &[
            ("SERVE_PUBLIC_PORT", &public_port),
            ("SERVE_ADMIN_PORT", &admin_port),
            ("SERVE_PUBLIC_CORS_ENABLED", "true"),
            ("DSN", "memory"),
        ],
        &log,
    );
    wait_ready(
        &mut server,
        &format!("http://127.0.0.1:{admin}/health/ready"),
    )
    .await;
    let text = stop(server, &log);
    assert!(text.contains("public API listening on"), "{text}");
    assert!(
        lines_with(&text, "lets any web site read").is_empty(),
        "{text}"
    );
}

/// The `null` origin (sandboxed frames, `data:` documents) is never echoed, not even under
/// `allowed_origins: ["*"]`; real origins still are, as in Kratos.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_never_allows_the_null_origin() {
    let app = spawn_app_with(
        Backend::Sqlite,
        json!({"serve": {"public": {"cors": {"enabled": true, "allowed_origins": ["*"], "allow_credentials": true}}}}),
    )
    .await;
    let c = reqwest::Client::new();
    let res = c
        .get(app.public("/sessions/whoami"))
        .header("Origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://spa.example.com"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    for origin in ["null", "NULL"] {
        let res = c
            .get(app.public("/sessions/whoami"))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            !res.headers()
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "{origin}: {:?}",
            res.headers()
        );
        let res = c
            .request(
                reqwest::Method::OPTIONS,
                app.public("/self-service/login?flow=x"),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        assert!(
            !res.headers()
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "preflight {origin}: {:?}",
            res.headers()
        );
    }
}

/// Queue one message on `app` and wake its courier.
async fn queue(app: &TestApp, to: &str) -> uuid::Uuid {
    let now = chrono::Utc::now();
    let id = uuid::Uuid::new_v4();
    app.registry
        .persister
        .enqueue_message(&Message {
            id,
            kind: "email".into(),
            status: "queued".into(),
            recipient: to.into(),
            subject: "Your code".into(),
            body: "987654".into(),
            template_type: "recovery_code_valid".into(),
            channel: "email".into(),
            send_count: 0,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    app.registry.courier_wakeup.notify_one();
    id
}

/// `getCourierMessage` once the courier has made its first attempt.
async fn after_first_attempt(app: &TestApp, id: uuid::Uuid) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m: Value = app
            .client
            .get(app.admin(&format!("/admin/courier/messages/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if m["send_count"].as_i64().unwrap_or(0) >= 1 {
            return m;
        }
        assert!(Instant::now() < deadline, "no delivery attempt: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `smtp://` requires STARTTLS: against a server that does not offer it (the aiosmtpd test
/// server) nothing is sent in plaintext; the message stays queued for a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_smtp_uri_requires_starttls() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && !postgres_available().await {
            continue;
        }
        let mail = MailServer::start().await;
        let app = spawn_app_with(
            backend,
            json!({"courier": {"smtp": {"connection_uri": format!("smtp://127.0.0.1:{}/", mail.port)}}}),
        )
        .await;
        let id = queue(&app, "plain@example.com").await;
        let m = after_first_attempt(&app, id).await;
        assert_eq!(m["status"], "queued", "{backend:?}: {m}");
        let error = m["dispatches"][0]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(error.contains("STARTTLS"), "{backend:?}: {m}");
        assert!(mail.all().is_empty(), "{backend:?}: sent in plaintext");
    }
}

/// An aiosmtpd server speaking implicit TLS that accepts only clients with a certificate signed
/// by its own CA; the certificates are made with the openssl command for each run.
struct ClientAuthServer {
    port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Drop for ClientAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl ClientAuthServer {
    async fn start() -> ClientAuthServer {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        fn key<'a>(ec: &[&'a str], name: &'a str) -> Vec<&'a str> {
            [ec, &["-nodes", "-keyout", name]].concat()
        }
        openssl(
            d,
            &[
                &["req", "-x509"][..],
                &key(&ec, "ca.key")[..],
                &[
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=Ostiary test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign",
                ],
            ]
            .concat(),
        );
        openssl(
            d,
            &[
                &["req", "-x509"][..],
                &key(&ec, "server.key")[..],
                &["-out", "server.pem", "-days", "2", "-subj", "/CN=127.0.0.1"],
            ]
            .concat(),
        );
        openssl(
            d,
            &[
                &["req"][..],
                &key(&ec, "client.key")[..],
                &["-out", "client.csr", "-subj", "/CN=ostiary-courier"],
            ]
            .concat(),
        );
        std::fs::write(d.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "client.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "client.ext",
                "-out",
                "client.pem",
            ],
        );
        let port = free_port();
        let mails = d.join("mail");
        let p = |f: &str| d.join(f).to_str().unwrap().to_string();
        let child = Command::new("python3")
            .args([
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/server.py"),
                &port.to_string(),
                mails.to_str().unwrap(),
                "--tls-client-auth",
                &p("server.pem"),
                &p("server.key"),
                &p("ca.pem"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd");
        // Owned at once, so the process is stopped (and waited for) however this ends.
        let server = ClientAuthServer { port, dir, child };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the TLS test SMTP server did not start");
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn delivered(&self) -> usize {
        std::fs::read_dir(self.path("mail"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn uri(&self) -> String {
        format!("smtps://127.0.0.1:{}/?skip_ssl_verify=true", self.port)
    }
}

/// `courier.smtp.client_cert_path` / `client_key_path`: the courier presents the certificate, so
/// a server that requires one accepts the message; without them it refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_client_certificate_is_presented() {
    let server = ClientAuthServer::start().await;
    let without = spawn_app_with(
        Backend::Sqlite,
        json!({"courier": {"smtp": {"connection_uri": server.uri()}}}),
    )
    .await;
    let id = queue(&without, "anonymous@example.com").await;
    let m = after_first_attempt(&without, id).await;
    assert_eq!(m["status"], "queued", "{m}");
    assert_eq!(server.delivered(), 0);
    drop(without);

    let with = spawn_app_with(
        Backend::Sqlite,
        json!({"courier": {"smtp": {
            "connection_uri": server.uri(),
            "client_cert_path": server.path("client.pem"),
            "client_key_path": server.path("client.key"),
        }}}),
    )
    .await;
    let id = queue(&with, "certified@example.com").await;
    let m = after_first_attempt(&with, id).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(server.delivered(), 1);
}

/// A client certificate that cannot be used stops the start with the key named.
#[test]
fn a_broken_client_certificate_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let cases = [
        (
            format!(
                "courier:\n  smtp:\n    connection_uri: smtps://127.0.0.1:1/\n    client_cert_path: {}\n",
                missing.display()
            ),
            "client_key_path",
        ),
        (
            format!(
                "courier:\n  smtp:\n    connection_uri: smtps://127.0.0.1:1/\n    client_cert_path: {0}\n    client_key_path: {0}\n",
                missing.display()
            ),
            "client_cert_path",
        ),
    ];
    for (i, (yaml, key)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.yml"));
        std::fs::write(&path, yaml).unwrap();
        let (ok, err) = run_to_exit(
            Command::new(BIN)
                .args(["serve", "--dev", "-c", path.to_str().unwrap()])
                .env("SERVE_PUBLIC_PORT", free_port().to_string())
                .env("SERVE_ADMIN_PORT", free_port().to_string())
                .env("DSN", "memory"),
        );
        assert!(!ok, "case {i} must fail: {err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.contains(key), "case {i}: {err}");
    }
}
