//! Browser flows: CSRF cookie and token, redirects to the UI, session cookie, browser logout.

use crate::both_backends;
use crate::helpers::{new_client, TestApp, PASSWORD};
use serde_json::{json, Value};

pub(crate) fn csrf_value(flow: &Value) -> String {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .unwrap()["attributes"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Browser login through a cookie-keeping client, as an SPA does (`Accept: application/json`).
async fn browser_login(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    let flow: Value = client
        .get(app.public("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap();
    client
        .post(app.public(&format!("/self-service/login?flow={id}")))
        .header("Accept", "application/json")
        .json(&json!({"method": "password", "identifier": email, "password": PASSWORD, "csrf_token": csrf_value(&flow)}))
        .send()
        .await
        .unwrap()
}

both_backends!(
    browser_init_redirects_and_sets_csrf_cookie,
    |app: TestApp| async move {
        let c = new_client();
        let res = c
            .get(app.public("/self-service/login/browser"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with("https://www.ory.sh/kratos/docs/fallback/login?flow="),
            "{location}"
        );
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("csrf_token_"), "{cookie}");
        assert!(cookie.contains("HttpOnly"));
        let id = location.split("flow=").nth(1).unwrap();
        // The same browser can read the flow; another cannot.
        let res = c
            .get(app.public(&format!("/self-service/login/flows?id={id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let flow: Value = res.json().await.unwrap();
        assert_eq!(flow["type"], "browser");
        assert_eq!(
            flow["ui"]["action"],
            app.public(&format!("/self-service/login?flow={id}"))
        );
        assert_eq!(flow["ui"]["nodes"][0]["attributes"]["name"], "csrf_token");
        assert_eq!(csrf_value(&flow).len(), 88, "masked 64-byte token");
        let res = reqwest::Client::new()
            .get(app.public(&format!("/self-service/login/flows?id={id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["id"],
            "security_csrf_violation"
        );
    }
);

both_backends!(browser_login_requires_csrf, |app: TestApp| async move {
    app.create_identity("oracle@example.com", Some(PASSWORD))
        .await;
    let c = new_client();
    let flow: Value = c
        .get(app.public("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap();
    let url = app.public(&format!("/self-service/login?flow={id}"));
    let body = |csrf: Option<&str>| {
        let mut b =
            json!({"method": "password", "identifier": "oracle@example.com", "password": PASSWORD});
        if let Some(t) = csrf {
            b["csrf_token"] = json!(t);
        }
        b
    };
    for (client, csrf) in [
        (&c, None),
        (&c, Some("forged")),
        (&new_client(), Some(csrf_value(&flow).as_str())),
    ] {
        let res = client
            .post(&url)
            .header("Accept", "application/json")
            .json(&body(csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["id"], "security_csrf_violation");
        assert!(e["error"]["details"]["reject_reason"].is_string());
    }
    // A plain browser is sent to the error UI instead.
    let res = new_client()
        .post(&url)
        .form(&[
            ("method", "password"),
            ("identifier", "oracle@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.contains("/fallback/error?id="), "{loc}");
    let err_id = loc.split("id=").nth(1).unwrap();
    let stored: Value = c
        .get(app.public(&format!("/self-service/errors?id={err_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["error"]["id"], "security_csrf_violation");
});

both_backends!(
    browser_form_login_cookie_and_logout,
    |app: TestApp| async move {
        app.create_identity("tank@example.com", Some(PASSWORD))
            .await;
        let c = new_client();
        let res = c
            .get(app.public(
                "/self-service/login/browser?return_to=https://allowed.example.com/welcome",
            ))
            .send()
            .await
            .unwrap();
        let id = res.headers()["location"]
            .to_str()
            .unwrap()
            .split("flow=")
            .nth(1)
            .unwrap()
            .to_string();
        let flow: Value = c
            .get(app.public(&format!("/self-service/login/flows?id={id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(flow["return_to"], "https://allowed.example.com/welcome");
        // Wrong password from a plain form: back to the UI.
        let res = c
            .post(app.public(&format!("/self-service/login?flow={id}")))
            .form(&[
                ("method", "password"),
                ("identifier", "tank@example.com"),
                ("password", "nope nope nope"),
                ("csrf_token", &csrf_value(&flow)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .contains(&format!("flow={id}")));
        let res = c
            .post(app.public(&format!("/self-service/login?flow={id}")))
            .form(&[
                ("method", "password"),
                ("identifier", "tank@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &csrf_value(&flow)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            res.headers()["location"],
            "https://allowed.example.com/welcome"
        );
        let cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let session_cookie = cookies
            .iter()
            .find(|c| c.starts_with("ory_kratos_session="))
            .expect("session cookie");
        assert!(session_cookie.contains("HttpOnly"));
        assert!(session_cookie.contains("SameSite=Lax"));
        assert!(session_cookie.contains("Path=/"));
        assert!(session_cookie.contains("Max-Age="));
        assert!(!session_cookie.contains("Secure"), "dev mode: not Secure");
        assert!(
            cookies.iter().any(|c| c.starts_with("csrf_token_")),
            "CSRF cookie regenerated on login"
        );

        // whoami by cookie; not re-issued while up to date.
        let res = c.get(app.public("/sessions/whoami")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("set-cookie").is_none());
        let session: Value = res.json().await.unwrap();
        let session_id = session["id"].as_str().unwrap().to_string();

        // Admin extend moves the expiry: the next cookie whoami re-issues the cookie.
        app.registry.clock.advance(chrono::Duration::hours(1));
        let res = app
            .client
            .patch(app.admin(&format!("/admin/sessions/{session_id}/extend")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = c.get(app.public("/sessions/whoami")).send().await.unwrap();
        assert!(res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("ory_kratos_session="));

        // Logout: disallowed return_to refused before anything happens.
        for bad in [
            "https://evil.com/",
            "//evil.com",
            "https://allowed.example.com@evil.com/",
            "http://allowed.example.com/welcome",
            "https://allowed.example.com:444/welcome",
        ] {
            let res = c
                .get(app.public("/self-service/logout/browser"))
                .query(&[("return_to", bad)])
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{bad}");
            assert_eq!(
                res.json::<Value>().await.unwrap()["error"]["id"],
                "self_service_flow_return_to_forbidden"
            );
        }
        let res = c
            .get(app.public(
                "/self-service/logout/browser?return_to=https://allowed.example.com/welcome/bye",
            ))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let logout: Value = res.json().await.unwrap();
        let url = logout["logout_url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&app.public("/self-service/logout?")));
        assert!(url.contains(logout["logout_token"].as_str().unwrap()));

        // Someone else's logout token does not log this browser out.
        app.create_identity("mouse@example.com", Some(PASSWORD))
            .await;
        let other = new_client();
        assert_eq!(
            browser_login(&app, &other, "mouse@example.com")
                .await
                .status(),
            200
        );
        let other_logout: Value = other
            .get(app.public("/self-service/logout/browser"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let foreign = format!(
            "{}/self-service/logout?token={}",
            app.public_url,
            other_logout["logout_token"].as_str().unwrap()
        );
        let res = c
            .get(&foreign)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(
            c.get(app.public("/sessions/whoami"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        let res = c.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            res.headers()["location"],
            "https://allowed.example.com/welcome/bye"
        );
        let cleared = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("ory_kratos_session="))
            .unwrap();
        assert!(
            cleared.contains("Max-Age=0") || cleared.contains("Max-Age=-1"),
            "{cleared}"
        );
        assert_eq!(
            c.get(app.public("/sessions/whoami"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
        // Reusing the logout URL: there is no session any more.
        let res = c
            .get(&url)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["id"],
            "session_inactive"
        );
        // The other browser is untouched.
        assert_eq!(
            other
                .get(app.public("/sessions/whoami"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        // Without a session: JSON 401, browsers to the error UI.
        let res = new_client()
            .get(app.public("/self-service/logout/browser"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let res = new_client()
            .get(app.public("/self-service/logout/browser"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let res = new_client()
            .get(app.public("/self-service/logout"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
);

both_backends!(spa_login_and_json_logout, |app: TestApp| async move {
    app.create_identity("switch2@example.com", Some(PASSWORD))
        .await;
    let c = new_client();
    let res = browser_login(&app, &c, "switch2@example.com").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(
        body.get("session_token").is_none(),
        "browsers never see the token"
    );
    assert_eq!(body["continue_with"][0]["action"], "redirect_browser_to");
    assert_eq!(
        body["continue_with"][0]["redirect_browser_to"],
        "http://app.example.com/"
    );
    assert_eq!(
        body["session"]["identity"]["traits"]["email"],
        "switch2@example.com"
    );
    let logout: Value = c
        .get(app.public("/self-service/logout/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = c
        .get(logout["logout_url"].as_str().unwrap())
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        c.get(app.public("/sessions/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
});

both_backends!(browser_registration_logs_in, |app: TestApp| async move {
    let c = new_client();
    let res = c
        .get(app.public("/self-service/registration/browser"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let id = res.headers()["location"]
        .to_str()
        .unwrap()
        .split("flow=")
        .nth(1)
        .unwrap()
        .to_string();
    let flow: Value = c
        .get(app.public(&format!("/self-service/registration/flows?id={id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = c
        .post(app.public(&format!("/self-service/registration?flow={id}")))
        .form(&[
            ("method", "password"),
            ("traits.email", "dozer@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &csrf_value(&flow)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert_eq!(res.headers()["location"], "http://app.example.com/");
    let session: Value = c
        .get(app.public("/sessions/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["identity"]["traits"]["email"], "dozer@example.com");
    // Already logged in: init redirects home.
    let res = c
        .get(app.public("/self-service/registration/browser"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "http://app.example.com/");
    let res = c
        .get(app.public("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
});

both_backends!(cors_follows_config, |app: TestApp| async move {
    // The default test config has CORS off: no CORS headers at all.
    let res = app
        .client
        .get(app.public("/sessions/whoami"))
        .header("Origin", "http://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_configured_origins_with_credentials() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        json!({"serve": {"public": {"cors": {"enabled": true, "allowed_origins": ["http://spa.example.com", "https://*.example.org"]}}}}),
    )
    .await;
    let c = reqwest::Client::new();
    let res = c
        .request(reqwest::Method::OPTIONS, app.public("/sessions/whoami"))
        .header("Origin", "http://spa.example.com")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-session-token")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://spa.example.com"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = c
        .get(app.public("/sessions/whoami"))
        .header("Origin", "https://a.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://a.example.org"
    );
    let res = c
        .get(app.public("/sessions/whoami"))
        .header("Origin", "https://evil.com")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
