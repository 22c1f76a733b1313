//! The bare baseline of the benchmark (issue 5): the same framework and runtime as Ostiary (axum
//! 0.8 on a multi-threaded tokio runtime) answering a whoami-shaped JSON from an in-memory map,
//! with no database, no hashing and no signature check. Every Ostiary figure in BENCHMARKS.md is
//! given beside this server's figure from the same run, as a ratio to the machine's limit.
//!
//! `bench_baseline <tokens.tsv> <port>`: the tokens file is the one the seeding tool writes
//! (`token \t cookie \t identity_id \t session_id \t email`). A request is answered when its
//! `X-Session-Token` or its `ory_kratos_session` cookie value is a key of the map (the cookie value
//! is looked up as it is, without the HMAC check Ostiary does), else 401.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

struct Entry {
    session_id: String,
    identity_id: String,
    email: String,
}

type Map = Arc<HashMap<String, Arc<Entry>>>;

async fn whoami(State(map): State<Map>, headers: HeaderMap) -> Response {
    let key = headers
        .get("x-session-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get("cookie")
                .and_then(|v| v.to_str().ok())
                .and_then(|c| {
                    c.split(';')
                        .filter_map(|p| p.trim().split_once('='))
                        .find(|(k, _)| *k == "ory_kratos_session")
                        .map(|(_, v)| v)
                })
        });
    let Some(e) = key.and_then(|k| map.get(k)) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "status": "Unauthorized"}})),
        )
            .into_response();
    };
    // The same fields and roughly the same size as Ostiary's whoami body.
    let t = "2026-01-01T00:00:00.000000Z";
    let body = json!({
        "id": e.session_id,
        "active": true,
        "expires_at": t,
        "authenticated_at": t,
        "authenticator_assurance_level": "aal1",
        "authentication_methods": [{"method": "password", "aal": "aal1", "completed_at": t}],
        "issued_at": t,
        "identity": {
            "id": e.identity_id,
            "schema_id": "default",
            "schema_url": "http://127.0.0.1/schemas/ZGVmYXVsdA",
            "state": "active",
            "state_changed_at": t,
            "traits": {"email": e.email},
            "verifiable_addresses": [{"id": e.session_id, "value": e.email, "verified": false,
                "via": "email", "status": "pending", "created_at": t, "updated_at": t}],
            "recovery_addresses": [{"id": e.session_id, "value": e.email, "via": "email",
                "created_at": t, "updated_at": t}],
            "metadata_public": null,
            "created_at": t,
            "updated_at": t
        },
        "devices": [{"id": e.session_id, "ip_address": "127.0.0.1", "user_agent": "bench", "location": ""}]
    });
    let mut res = Json(body).into_response();
    if let Ok(v) = e.identity_id.parse() {
        res.headers_mut()
            .insert("x-kratos-authenticated-identity-id", v);
    }
    res
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tokens = args
        .next()
        .expect("usage: bench_baseline <tokens.tsv> <port>");
    let port: u16 = args
        .next()
        .expect("usage: bench_baseline <tokens.tsv> <port>")
        .parse()
        .expect("port");
    let text = std::fs::read_to_string(&tokens).expect("read tokens file");
    let mut map = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 {
            continue;
        }
        let e = Arc::new(Entry {
            identity_id: f[2].to_string(),
            session_id: f[3].to_string(),
            email: f[4].to_string(),
        });
        map.insert(f[0].to_string(), e.clone());
        map.insert(f[1].to_string(), e);
    }
    let map: Map = Arc::new(map);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let app = Router::new()
            .route("/sessions/whoami", any(whoami))
            .route(
                "/health/ready",
                any(|| async { Json(json!({"status": "ok"})) }),
            )
            .with_state(map);
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        axum::serve(l, app).await.expect("serve");
    });
}
