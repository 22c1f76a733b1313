//! Brute-force protection: logins per (identifier, client address) and per client address, code
//! submissions per client address; 429 with Retry-After; shared by all nodes through the database.

use crate::both_backends;
use crate::helpers::{spawn_app_with, spawn_node_on, Backend, TestApp, PASSWORD};
use serde_json::{json, Value};

async fn try_login(
    app: &TestApp,
    identifier: &str,
    password: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let c = reqwest::Client::new();
    let flow: Value = c
        .get(app.public("/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap();
    let mut req = c
        .post(app.public(&format!("/self-service/login?flow={id}")))
        .json(&json!({"method": "password", "identifier": identifier, "password": password}));
    if let Some(f) = forwarded {
        req = req.header("X-Forwarded-For", f);
    }
    req.send().await.unwrap()
}

both_backends!(
    failed_logins_per_identifier_are_limited,
    |app: TestApp| async move {
        // Defaults: 10 failures per identifier per 15 minutes.
        app.create_identity("target@example.com", Some(PASSWORD))
            .await;
        for _ in 0..10 {
            assert_eq!(
                try_login(&app, "target@example.com", "wrong password!", None)
                    .await
                    .status(),
                400
            );
        }
        let res = try_login(&app, "TARGET@example.com", PASSWORD, None).await;
        assert_eq!(res.status(), 429, "blocked even with the right password");
        let retry: i64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= 900);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["id"], "rate_limit_exceeded");
        assert_eq!(body["error"]["code"], 429);
        // Another identifier is unaffected; after the window the target works again.
        app.create_identity("other@example.com", Some(PASSWORD))
            .await;
        assert_eq!(
            try_login(&app, "other@example.com", PASSWORD, None)
                .await
                .status(),
            200
        );
        app.registry.clock.advance(chrono::Duration::minutes(16));
        assert_eq!(
            try_login(&app, "target@example.com", PASSWORD, None)
                .await
                .status(),
            200
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_comes_from_trusted_proxies_only() {
    let overlay =
        json!({"ostiary": {"rate_limit": {"login_per_address": 3, "login_per_identifier": 1000}}});
    // Untrusted: X-Forwarded-For is ignored, so rotating it does not escape the limit.
    let app = spawn_app_with(Backend::Sqlite, overlay.clone()).await;
    for i in 0..3 {
        let res = try_login(
            &app,
            &format!("u{i}@example.com"),
            "wrong password!",
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        assert_eq!(res.status(), 400);
    }
    let res = try_login(
        &app,
        "u9@example.com",
        "wrong password!",
        Some("198.51.100.99"),
    )
    .await;
    assert_eq!(res.status(), 429);

    // Trusted proxy: each forwarded client has its own counter.
    let mut trusted = overlay;
    trusted["ostiary"]["rate_limit"]["trusted_proxies"] = json!(["127.0.0.0/8"]);
    let app = spawn_app_with(Backend::Sqlite, trusted).await;
    for i in 0..3 {
        assert_eq!(
            try_login(
                &app,
                "x@example.com",
                "wrong password!",
                Some("203.0.113.1")
            )
            .await
            .status(),
            400,
            "{i}"
        );
    }
    assert_eq!(
        try_login(
            &app,
            "x@example.com",
            "wrong password!",
            Some("203.0.113.1")
        )
        .await
        .status(),
        429
    );
    assert_eq!(
        try_login(
            &app,
            "x@example.com",
            "wrong password!",
            Some("203.0.113.2")
        )
        .await
        .status(),
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_shared_by_all_nodes() {
    if !crate::helpers::postgres_available().await {
        return;
    }
    let overlay = json!({"ostiary": {"rate_limit": {"login_per_identifier_and_address": 4}}});
    let a = spawn_app_with(Backend::Postgres, overlay.clone()).await;
    let b = spawn_node_on(&a, overlay).await;
    a.create_identity("shared@example.com", Some(PASSWORD))
        .await;
    for i in 0..4 {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            try_login(node, "shared@example.com", "wrong password!", None)
                .await
                .status(),
            400
        );
    }
    assert_eq!(
        try_login(&a, "shared@example.com", PASSWORD, None)
            .await
            .status(),
        429
    );
    assert_eq!(
        try_login(&b, "shared@example.com", PASSWORD, None)
            .await
            .status(),
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_can_be_turned_off() {
    let app = spawn_app_with(
        Backend::Sqlite,
        json!({"ostiary": {"rate_limit": {"enabled": false}}}),
    )
    .await;
    app.create_identity("free@example.com", Some(PASSWORD))
        .await;
    for _ in 0..12 {
        assert_eq!(
            try_login(&app, "free@example.com", "wrong password!", None)
                .await
                .status(),
            400
        );
    }
    assert_eq!(
        try_login(&app, "free@example.com", PASSWORD, None)
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_code_submissions_per_address_are_limited() {
    let (app, _mail) = crate::helpers::spawn_app_with_mail(
        Backend::Sqlite,
        json!({"ostiary": {"rate_limit": {"code_per_address": 3}}}),
    )
    .await;
    app.create_identity("codes@example.com", Some(PASSWORD))
        .await;
    let c = reqwest::Client::new();
    let mut statuses = Vec::new();
    // Across several flows (so the per-flow limit of 5 is not what stops it).
    for _ in 0..2 {
        let flow: Value = c
            .get(app.public("/self-service/verification/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = app.public(&format!(
            "/self-service/verification?flow={}",
            flow["id"].as_str().unwrap()
        ));
        c.post(&url)
            .json(&json!({"method": "code", "email": "codes@example.com"}))
            .send()
            .await
            .unwrap();
        for _ in 0..2 {
            statuses.push(
                c.post(&url)
                    .json(&json!({"method": "code", "code": "000000"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
    }
    // A wrong code is the form again (200); the fourth submission is over the limit.
    assert_eq!(statuses, [200, 200, 200, 429]);
}
