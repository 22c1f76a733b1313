//! Parity and hardening: what Kratos deployments meet at start (DSNs Ostiary refuses).

use crate::cli::{free_port, run, BIN};
use std::process::{Command, Stdio};

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
