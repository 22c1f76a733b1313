//! Parity and hardening: the command-line forms Kratos documents, and what Kratos deployments
//! meet at start (DSNs Ostiary refuses).

use crate::cli::{free_port, kratos_config, run, wait_ready, Server, BIN};
use std::path::Path;
use std::process::{Command, Stdio};

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
        let out = Command::new(BIN)
            .args(["serve", "--dev"])
            .env("DSN", dsn)
            .env("SERVE_PUBLIC_PORT", free_port().to_string())
            .env("SERVE_ADMIN_PORT", free_port().to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{dsn} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
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
