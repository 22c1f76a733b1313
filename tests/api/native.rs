//! Native (API) registration and login, whoami by header, bearer and cookie, and native logout.

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};
use serde_json::{json, Value};

both_backends!(
    registration_login_whoami_logout,
    |app: TestApp| async move {
        let c = reqwest::Client::new();
        let flow: Value = c
            .get(app.public("/self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(flow["type"], "api");
        assert_eq!(flow["state"], "choose_method");
        let names: Vec<&str> = flow["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["attributes"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["traits.email", "password", "method"]);
        let id = flow["id"].as_str().unwrap();
        let res = c
        .post(app.public(&format!("/self-service/registration?flow={id}")))
        .json(&json!({"method": "password", "traits": {"email": "Neo@Example.com"}, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let token = body["session_token"].as_str().unwrap().to_string();
        assert!(token.starts_with("ory_st_") && token.len() == 39);
        assert_eq!(body["continue_with"][0]["action"], "set_ory_session_token");
        assert_eq!(
            body["continue_with"][0]["ory_session_token"],
            token.as_str()
        );
        assert_eq!(body["identity"]["traits"]["email"], "Neo@Example.com");
        assert!(body["identity"].get("credentials").is_none());

        // The flow cannot be replayed.
        let res = c
        .post(app.public(&format!("/self-service/registration?flow={id}")))
        .json(&json!({"method": "password", "traits": {"email": "other@example.com"}, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 400);

        let (status, session) = app.whoami(&token).await;
        assert_eq!(status, 200);
        assert_eq!(session["active"], true);
        assert_eq!(session["identity"]["traits"]["email"], "Neo@Example.com");
        assert_eq!(session["authenticator_assurance_level"], "aal1");
        assert_eq!(session["authentication_methods"][0]["method"], "password");
        assert!(session.get("devices").unwrap().is_array());
        assert!(session["identity"].get("metadata_admin").is_none());

        // Login is case-insensitive in the identifier; bearer in any case works; X-Session-Token wins.
        let token2 = app.native_login("NEO@example.com", PASSWORD).await;
        assert_ne!(token, token2);
        let res = c
            .get(app.public("/sessions/whoami"))
            .header("Authorization", format!("bEaReR {token2}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res
            .headers()
            .get("x-kratos-authenticated-identity-id")
            .is_some());
        assert!(
            res.headers().get("set-cookie").is_none(),
            "token requests never get cookies"
        );
        let res = c
            .get(app.public("/sessions/whoami"))
            .header("X-Session-Token", &token2)
            .header("Authorization", "Bearer nonsense")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // Native logout: 204, idempotent; the token is dead afterwards.
        let logout = |t: String| {
            let c = c.clone();
            let url = app.public("/self-service/logout/api");
            async move {
                c.delete(url)
                    .json(&json!({ "session_token": t }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(logout(token.clone()).await, 204);
        assert_eq!(logout(token.clone()).await, 204);
        let (status, body) = app.whoami(&token).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"error": {"code": 401, "status": "Unauthorized", "reason": "No valid session credentials found in the request.", "message": "The request could not be authorized"}})
        );
        assert_eq!(app.whoami(&token2).await.0, 200, "other sessions stay");
        assert_eq!(
            logout("ory_st_unknownunknownunknownunknown0".into()).await,
            403
        );
        assert_eq!(logout(String::new()).await, 403);
        let res = c
            .delete(app.public("/self-service/logout/api"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res = c
            .delete(app.public("/self-service/logout/api"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = c
            .delete(app.public("/self-service/logout/api"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = c
            .delete(app.public("/self-service/logout/api"))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
);

both_backends!(
    login_failures_are_flow_messages,
    |app: TestApp| async move {
        app.create_identity("trinity@example.com", Some(PASSWORD))
            .await;
        let c = reqwest::Client::new();
        for (identifier, password) in [
            ("trinity@example.com", "wrong password!"),
            ("nobody@example.com", PASSWORD),
        ] {
            let flow: Value = c
                .get(app.public("/self-service/login/api"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = flow["id"].as_str().unwrap();
            let res = c
                .post(app.public(&format!("/self-service/login?flow={id}")))
                .json(
                    &json!({"method": "password", "identifier": identifier, "password": password}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400);
            let body: Value = res.json().await.unwrap();
            // Same message for unknown identifier and wrong password: no enumeration.
            assert_eq!(body["ui"]["messages"][0]["id"], 4000006);
            let identifier_node = body["ui"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["attributes"]["name"] == "identifier")
                .unwrap();
            assert_eq!(identifier_node["attributes"]["value"], identifier);
            let pw = body["ui"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["attributes"]["name"] == "password")
                .unwrap();
            assert!(
                pw["attributes"].get("value").is_none(),
                "password never echoed"
            );
        }
        // Missing fields, unknown method, unknown and malformed flow ids, native flow with an Origin.
        let flow: Value = c
            .get(app.public("/self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = flow["id"].as_str().unwrap().to_string();
        let res = c
            .post(app.public(&format!("/self-service/login?flow={id}")))
            .json(&json!({"method": "password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert!(body["ui"]["nodes"].to_string().contains("4000002"));
        let res = c
            .post(app.public(&format!("/self-service/login?flow={id}")))
            .json(&json!({"method": "carrier-pigeon"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(
            res.json::<Value>().await.unwrap()["ui"]["messages"][0]["id"],
            4010002
        );
        let res = c
            .post(app.public(&format!(
                "/self-service/login?flow={}",
                uuid::Uuid::new_v4()
            )))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let res = c
            .post(app.public("/self-service/login?flow=nope"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = c
        .post(app.public(&format!("/self-service/login?flow={id}")))
        .header("Origin", "https://evil.example")
        .json(&json!({"method": "password", "identifier": "trinity@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 400);
        assert!(
            res.json::<Value>().await.unwrap()["ui"]["messages"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Origin")
        );
        let res = c
            .get(app.public("/self-service/login/api?aal=aal9"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = c
            .get(app.public("/self-service/login/api?aal=aal2"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["id"],
            "session_aal1_required"
        );
        // Already logged in: init answers session_already_available.
        let token = app.native_login("trinity@example.com", PASSWORD).await;
        let res = c
            .get(app.public("/self-service/login/api"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["id"],
            "session_already_available"
        );
        // refresh=true is allowed and replaces the session.
        let res = c
            .get(app.public("/self-service/login/api?refresh=true"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let flow: Value = res.json().await.unwrap();
        assert_eq!(flow["refresh"], true);
        assert_eq!(flow["ui"]["messages"][0]["id"], 1010003);
    }
);

both_backends!(registration_validation, |app: TestApp| async move {
    app.create_identity("taken@example.com", None).await;
    let c = reqwest::Client::new();
    let cases = [
        (
            json!({"method": "password", "traits": {"email": "not-an-email"}, "password": PASSWORD}),
            "traits.email",
        ),
        (
            json!({"method": "password", "traits": {}, "password": PASSWORD}),
            "traits.email",
        ),
        (
            json!({"method": "password", "traits": {"email": "ok@example.com"}, "password": "short"}),
            "password",
        ),
        (
            json!({"method": "password", "traits": {"email": "samesame@example.com"}, "password": "samesame@example.com"}),
            "password",
        ),
        (
            json!({"method": "password", "traits": {"email": "long@example.com"}, "password": "x1y2z3".repeat(13)}),
            "password",
        ),
    ];
    for (body, node) in cases {
        let flow: Value = c
            .get(app.public("/self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = flow["id"].as_str().unwrap();
        let res = c
            .post(app.public(&format!("/self-service/registration?flow={id}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let flow: Value = res.json().await.unwrap();
        let n = flow["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["attributes"]["name"] == node)
            .unwrap();
        assert!(
            !n["messages"].as_array().unwrap().is_empty(),
            "{body} -> {flow}"
        );
    }
    let flow: Value = c
        .get(app.public("/self-service/registration/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap();
    let res = c
        .post(app.public(&format!("/self-service/registration?flow={id}")))
        .json(&json!({"method": "password", "traits": {"email": "TAKEN@example.com"}, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["ui"]["messages"][0]["id"],
        4000007
    );
    // Nothing was created by the failed attempts.
    let list: Value = app
        .client
        .get(app.admin("/admin/identities"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
});

both_backends!(expired_flows_answer_410, |app: TestApp| async move {
    app.create_identity("morpheus@example.com", Some(PASSWORD))
        .await;
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
    app.registry.clock.advance(chrono::Duration::hours(2));
    let res = c
        .post(app.public(&format!("/self-service/login?flow={id}")))
        .json(&json!({"method": "password", "identifier": "morpheus@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["id"], "self_service_flow_expired");
    let new_id = body["use_flow_id"].as_str().unwrap();
    assert_ne!(new_id, id);
    assert!(body["since"].is_number() && body["expired_at"].is_string());
    let res = c
        .get(app.public(&format!("/self-service/login/flows?id={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    let fresh: Value = c
        .get(app.public(&format!("/self-service/login/flows?id={new_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["ui"]["messages"][0]["id"], 4010001);
});

both_backends!(
    sessions_expire_and_inactive_identities_lose_them,
    |app: TestApp| async move {
        let identity = app
            .create_identity("switch@example.com", Some(PASSWORD))
            .await;
        let token = app.native_login("switch@example.com", PASSWORD).await;
        assert_eq!(app.whoami(&token).await.0, 200);
        let id = identity["id"].as_str().unwrap();
        let res = app
            .client
            .patch(app.admin(&format!("/admin/identities/{id}")))
            .json(&json!([{"op": "replace", "path": "/state", "value": "inactive"}]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            app.whoami(&token).await.0,
            401,
            "inactive identity => inactive session"
        );
        let res = app
            .client
            .patch(app.admin(&format!("/admin/identities/{id}")))
            .json(&json!([{"op": "replace", "path": "/state", "value": "active"}]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(app.whoami(&token).await.0, 200);
        app.registry.clock.advance(chrono::Duration::hours(25));
        assert_eq!(
            app.whoami(&token).await.0,
            401,
            "expired after the 24h lifespan"
        );
    }
);

both_backends!(bad_tokens_never_500, |app: TestApp| async move {
    app.create_identity("cypher@example.com", Some(PASSWORD))
        .await;
    let token = app.native_login("cypher@example.com", PASSWORD).await;
    let c = reqwest::Client::new();
    let truncated = token[..20].to_string();
    let huge = "x".repeat(8000);
    for bad in [
        "",
        "ory_st_",
        truncated.as_str(),
        "ory_lo_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "' OR 1=1 --",
        huge.as_str(),
        "\u{7f}",
    ] {
        let res = c
            .get(app.public("/sessions/whoami"))
            .header("X-Session-Token", bad)
            .send()
            .await;
        if let Ok(res) = res {
            assert!(
                res.status() == 401 || res.status() == 400 || res.status() == 431,
                "{bad:?}: {}",
                res.status()
            );
        }
    }
    // A logout token is not a session token.
    let logout: Value = c
        .get(app.public("/self-service/logout/browser"))
        .header("X-Session-Token", &token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lo = logout["logout_token"].as_str().unwrap();
    assert!(lo.starts_with("ory_lo_"));
    assert_eq!(app.whoami(lo).await.0, 401);
    let res = c
        .delete(app.public("/self-service/logout/api"))
        .json(&json!({"session_token": lo}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.whoami(&token).await.0, 200);
});
