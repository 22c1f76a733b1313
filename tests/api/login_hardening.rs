//! Password login under attack and re-authentication: attempts are counted before the password is
//! checked (a parallel burst cannot outrun the limit), the hard limit is per (identifier, client
//! address) so a stranger cannot lock an account, overlong passwords are refused before any
//! hashing, and `refresh=true` re-authenticates the session in place as Kratos does.

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};
use serde_json::{json, Value};

async fn login_as(
    app: &TestApp,
    identifier: &str,
    password: &str,
    client: Option<&str>,
) -> (u16, Value) {
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
    if let Some(ip) = client {
        req = req.header("X-Forwarded-For", ip);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

crate::both_backends_with!(
    a_parallel_burst_gets_no_more_guesses_than_the_limit,
    json!({}),
    |app: TestApp| async move {
        app.create_identity("burst@example.com", Some(PASSWORD))
            .await;
        let guesses = (0..50).map(|i| {
            let app = &app;
            async move { login_as(app, "burst@example.com", &format!("wrong {i}"), None).await }
        });
        let answers = futures::future::join_all(guesses).await;
        let compared = answers.iter().filter(|(s, _)| *s == 400).count();
        let refused = answers.iter().filter(|(s, _)| *s == 429).count();
        // Default: 10 attempts per (identifier, client address) and window.
        assert_eq!((compared, refused), (10, 40), "{answers:?}");
        // From this address the account stays closed for the window, even with the right password.
        assert_eq!(
            login_as(&app, "burst@example.com", PASSWORD, None).await.0,
            429
        );
    }
);

crate::both_backends_with!(
    a_stranger_cannot_lock_an_account,
    json!({"ostiary": {"rate_limit": {
        "trusted_proxies": ["127.0.0.0/8"],
        "login_per_identifier": 3,
        "login_delay": "1ms",
        "login_delay_max": "4ms"
    }}}),
    |app: TestApp| async move {
        app.create_identity("victim@example.com", Some(PASSWORD))
            .await;
        // Many strangers, each under the per-address limits: only delayed, never refused.
        for i in 0..15 {
            let (status, body) = login_as(
                &app,
                "victim@example.com",
                "not the password",
                Some(&format!("198.51.100.{i}")),
            )
            .await;
            assert_eq!(status, 400, "attempt {i}: {body}");
            assert_eq!(body["ui"]["messages"][0]["id"], 4000006);
        }
        // The owner, from their own address, gets in.
        let (status, body) =
            login_as(&app, "victim@example.com", PASSWORD, Some("203.0.113.9")).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["session_token"].is_string());
    }
);

crate::both_backends_with!(
    a_success_clears_the_counts,
    json!({"ostiary": {"rate_limit": {"login_per_identifier_and_address": 3}}}),
    |app: TestApp| async move {
        app.create_identity("forgetful@example.com", Some(PASSWORD))
            .await;
        for _ in 0..2 {
            assert_eq!(
                login_as(&app, "forgetful@example.com", "nope nope", None)
                    .await
                    .0,
                400
            );
        }
        assert_eq!(
            login_as(&app, "forgetful@example.com", PASSWORD, None)
                .await
                .0,
            200
        );
        // Three more wrong tries are allowed again before 429.
        for _ in 0..3 {
            assert_eq!(
                login_as(&app, "forgetful@example.com", "nope nope", None)
                    .await
                    .0,
                400
            );
        }
        assert_eq!(
            login_as(&app, "forgetful@example.com", PASSWORD, None)
                .await
                .0,
            429
        );
    }
);

both_backends!(
    overlong_passwords_are_refused_before_hashing,
    |app: TestApp| async move {
        let long = "correct horse ".repeat(400); // 5,600 bytes
        let c = reqwest::Client::new();
        let flow: Value = c
            .get(app.public("/self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = c
            .post(app.public(&format!(
                "/self-service/registration?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .json(&json!({"method": "password", "traits": {"email": "long@example.com"}, "password": long}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        let node = body["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["attributes"]["name"] == "password")
            .unwrap()
            .clone();
        assert_eq!(node["messages"][0]["id"], 4000033, "{node}");
        assert_eq!(node["messages"][0]["context"]["max_length"], 72);
        // Login with an overlong password: the usual wrong-credentials answer.
        app.create_identity("long@example.com", Some(PASSWORD))
            .await;
        let (status, body) = login_as(&app, "long@example.com", &long, None).await;
        assert_eq!(status, 400);
        assert_eq!(body["ui"]["messages"][0]["id"], 4000006);
        // The admin API refuses to hash one too.
        let res = app
            .client
            .post(app.admin("/admin/identities"))
            .json(
                &json!({"schema_id": "default", "traits": {"email": "longer@example.com"},
                "credentials": {"password": {"config": {"password": "x".repeat(5000)}}}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
);

both_backends!(
    login_with_refresh_keeps_the_session,
    |app: TestApp| async move {
        app.create_identity("again@example.com", Some(PASSWORD))
            .await;
        let token = app.native_login("again@example.com", PASSWORD).await;
        let (_, before) = app.whoami(&token).await;
        let c = reqwest::Client::new();
        let flow: Value = c
            .get(app.public("/self-service/login/api?refresh=true"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(flow["refresh"], true);
        app.registry.clock.advance(chrono::Duration::minutes(5));
        let res = c
            .post(app.public(&format!(
                "/self-service/login?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .header("X-Session-Token", &token)
            .json(&json!({"method": "password", "identifier": "again@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["session_token"], token.as_str(), "same token");
        assert_eq!(body["session"]["id"], before["id"], "same session");
        let (status, after) = app.whoami(&token).await;
        assert_eq!(status, 200, "the token still works");
        assert_eq!(after["id"], before["id"]);
        assert_eq!(after["authentication_methods"].as_array().unwrap().len(), 2);
        assert!(
            after["authenticated_at"].as_str().unwrap()
                > before["authenticated_at"].as_str().unwrap()
        );
        assert!(after["expires_at"].as_str().unwrap() > before["expires_at"].as_str().unwrap());
        assert_eq!(after["devices"].as_array().unwrap().len(), 2);
        // Still one session for the identity.
        let sessions: Value = app
            .client
            .get(app.admin(&format!(
                "/admin/identities/{}/sessions",
                before["identity"]["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(sessions.as_array().unwrap().len(), 1);
    }
);
