//! Backup codes (`lookup_secret`): generated and confirmed in settings, taken once each by a login
//! flow opened with `aal=aal2` (also when several logins race with one code), revealed with the
//! used ones marked, and disabled.

use crate::both_backends_with;
use crate::helpers::{api_flow, submit_flow, TestApp, PASSWORD};
use serde_json::{json, Value};

fn overlay() -> Value {
    json!({"selfservice": {"methods": {"lookup_secret": {"enabled": true}}}})
}

fn node<'a>(flow: &'a Value, name: &str) -> Option<&'a Value> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name || n["attributes"]["id"] == name)
}

fn names(flow: &Value, group: &str) -> Vec<String> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["group"] == group)
        .map(|n| {
            n["attributes"]["name"]
                .as_str()
                .or(n["attributes"]["id"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The codes a `lookup_secret_codes` node shows (`used` for used ones).
fn shown_codes(flow: &Value) -> Vec<String> {
    let text = node(flow, "lookup_secret_codes").expect("codes node")["attributes"]["text"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    text.split(", ").map(str::to_string).collect()
}

async fn aal2_flow(app: &TestApp, token: &str) -> Value {
    let res = reqwest::Client::new()
        .get(app.public("/self-service/login/api?aal=aal2"))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn use_code(app: &TestApp, token: &str, code: &str) -> (u16, Value) {
    let flow = aal2_flow(app, token).await;
    submit_flow(
        app,
        "login",
        &flow,
        json!({"method": "lookup_secret", "lookup_secret": code}),
        Some(token),
        None,
    )
    .await
}

both_backends_with!(
    backup_codes_are_generated_used_once_revealed_and_disabled,
    overlay(),
    |app: TestApp| async move {
        let created = app
            .create_identity("codes@example.com", Some(PASSWORD))
            .await;
        let id = created["id"].as_str().unwrap().to_string();
        let first = app.native_login("codes@example.com", PASSWORD).await;

        // No codes yet: only "generate".
        let flow = api_flow(&app, "settings", Some(&first)).await;
        assert_eq!(names(&flow, "lookup_secret"), ["lookup_secret_regenerate"]);
        // Confirming before generating is refused.
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"lookup_secret_confirm": true}),
            Some(&first),
            None,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000001);

        // Generate: twelve codes shown (not stored yet), then confirm them.
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"lookup_secret_regenerate": true}),
            Some(&first),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "show_form");
        assert_eq!(
            names(&body, "lookup_secret"),
            ["lookup_secret_codes", "lookup_secret_confirm"]
        );
        let codes = shown_codes(&body);
        assert_eq!(codes.len(), 12);
        assert!(codes.iter().all(|c| c.len() == 8), "{codes:?}");
        let label = &node(&body, "lookup_secret_codes").unwrap()["meta"]["label"]["id"];
        assert_eq!(*label, 1050010);
        let admin = |app: &TestApp| {
            let url = app.admin(&format!("/admin/identities/{id}"));
            let client = app.client.clone();
            async move {
                let v: Value = client.get(url).send().await.unwrap().json().await.unwrap();
                v
            }
        };
        assert!(admin(&app).await["credentials"]
            .get("lookup_secret")
            .is_none());
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "lookup_secret", "lookup_secret_confirm": true}),
            Some(&first),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "success");
        assert_eq!(
            names(&body, "lookup_secret"),
            ["lookup_secret_reveal", "lookup_secret_disable"]
        );
        assert!(admin(&app).await["credentials"]
            .get("lookup_secret")
            .is_some());
        let (_, me) = app.whoami(&first).await;
        assert_eq!(me["authenticator_assurance_level"], "aal2");

        // A password login is aal1 and must complete a second factor.
        let second = app.native_login("codes@example.com", PASSWORD).await;
        assert_eq!(app.whoami(&second).await.0, 403);
        let flow = aal2_flow(&app, &second).await;
        assert_eq!(names(&flow, "lookup_secret"), ["lookup_secret", "method"]);
        assert_eq!(
            node(&flow, "lookup_secret").unwrap()["meta"]["label"]["id"],
            1010007
        );
        let (status, body) = use_code(&app, &second, "nope0000").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000016);
        let (status, body) = use_code(&app, &second, &codes[0]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["session_token"], second);
        assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
        let last = body["session"]["authentication_methods"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["method"], "lookup_secret");
        assert_eq!(last["aal"], "aal2");
        assert_eq!(app.whoami(&second).await.0, 200);

        // A used code is refused.
        let third = app.native_login("codes@example.com", PASSWORD).await;
        let (status, body) = use_code(&app, &third, &codes[0]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000012);

        // Eight logins racing with one code: exactly one gets through.
        let mut tokens = Vec::new();
        for _ in 0..8 {
            tokens.push(app.native_login("codes@example.com", PASSWORD).await);
        }
        let races = tokens.iter().map(|t| use_code(&app, t, &codes[1]));
        let results = futures::future::join_all(races).await;
        let ok = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(ok, 1, "{results:?}");
        assert!(results
            .iter()
            .filter(|(s, _)| *s != 200)
            .all(|(s, b)| *s == 400 && b["ui"]["messages"][0]["id"] == 4000012));

        // Reveal (with an aal2 session): the two used codes are marked, with their times.
        let flow = api_flow(&app, "settings", Some(&second)).await;
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"lookup_secret_reveal": true}),
            Some(&second),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let shown = shown_codes(&body);
        assert_eq!(&shown[..2], ["used", "used"]);
        assert_eq!(&shown[2..], &codes[2..]);
        let secrets = &node(&body, "lookup_secret_codes").unwrap()["attributes"]["text"]["context"]
            ["secrets"];
        assert_eq!(secrets[0]["id"], 1050014);
        assert!(secrets[0]["context"]["used_at_unix"].is_i64());
        assert_eq!(secrets[2]["context"]["secret"], codes[2].as_str());
        assert_eq!(
            names(&body, "lookup_secret"),
            [
                "lookup_secret_codes",
                "lookup_secret_disable",
                "lookup_secret_regenerate"
            ]
        );

        // Disable: the identity has no second factor left, so an aal1 session is enough again.
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"lookup_secret_disable": true}),
            Some(&second),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(names(&body, "lookup_secret"), ["lookup_secret_regenerate"]);
        let fourth = app.native_login("codes@example.com", PASSWORD).await;
        assert_eq!(app.whoami(&fourth).await.0, 200);
        let (status, body) = use_code(&app, &fourth, &codes[3]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000014);
    }
);
