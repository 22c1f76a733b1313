//! `selfservice.methods.<method>.enabled`: a disabled method is neither offered nor accepted.

use crate::helpers::{spawn_app_with, Backend, TestApp, PASSWORD};
use serde_json::{json, Value};

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let mut req = reqwest::Client::new().get(app.public(path));
    if let Some(t) = token {
        req = req.header("X-Session-Token", t);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn post(
    app: &TestApp,
    kind: &str,
    flow: &Value,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(app.public(&format!(
            "/self-service/{kind}?flow={}",
            flow["id"].as_str().unwrap()
        )))
        .json(&body);
    if let Some(t) = token {
        req = req.header("X-Session-Token", t);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

fn groups(flow: &Value) -> Vec<String> {
    let mut g: Vec<String> = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["group"].as_str().unwrap().to_string())
        .collect();
    g.dedup();
    g
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_password_method_is_neither_offered_nor_accepted() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && !crate::helpers::postgres_available().await {
            continue;
        }
        let overlay = json!({"selfservice": {"methods": {"password": {"enabled": false}}}});
        let app = spawn_app_with(backend, overlay).await;
        app.create_identity("nopass@example.com", Some(PASSWORD))
            .await;
        let login = get(&app, "/self-service/login/api", None).await;
        assert!(!groups(&login).contains(&"password".to_string()), "{login}");
        let (status, body) = post(
            &app,
            "login",
            &login,
            json!({"method": "password", "identifier": "nopass@example.com", "password": PASSWORD}),
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["ui"]["messages"][0]["id"], 4010002, "{body}");
        let reg = get(&app, "/self-service/registration/api", None).await;
        assert!(!groups(&reg).contains(&"password".to_string()), "{reg}");
        let (status, body) = post(&app, "registration", &reg, json!({"method": "password", "traits": {"email": "new@example.com"}, "password": PASSWORD}), None).await;
        assert_eq!(status, 400);
        assert_eq!(body["ui"]["messages"][0]["id"], 4010003, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_profile_method_is_neither_offered_nor_accepted() {
    let overlay = json!({"selfservice": {"methods": {"profile": {"enabled": false}}}});
    let app = spawn_app_with(Backend::Sqlite, overlay).await;
    app.create_identity("noprofile@example.com", Some(PASSWORD))
        .await;
    let token = app.native_login("noprofile@example.com", PASSWORD).await;
    let settings = get(&app, "/self-service/settings/api", Some(&token)).await;
    assert_eq!(groups(&settings), ["password"], "{settings}");
    let (status, body) = post(
        &app,
        "settings",
        &settings,
        json!({"method": "profile", "traits": {"email": "changed@example.com"}}),
        Some(&token),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["ui"]["messages"][0]["id"], 4010004, "{body}");
    let (_, me) = app.whoami(&token).await;
    assert_eq!(me["identity"]["traits"]["email"], "noprofile@example.com");
}
