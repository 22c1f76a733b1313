//! Security keys as a first factor (`webauthn.config.passwordless: true`), through browser flows as
//! a single-page app drives them (JSON with the CSRF token and cookies), answered by the tests' own
//! authenticator: sign up with a key, then log in by identifier (step one answers 422 towards the
//! form that asks for the key) and key; a key of another account and a second use of an answer
//! are refused.

use crate::both_backends_with;
use crate::helpers::{new_client, TestApp};
use crate::soft_authenticator::Authenticator;
use serde_json::{json, Value};

const ORIGIN: &str = "https://app.example.com";

fn overlay() -> Value {
    let rp = json!({"id": "app.example.com", "display_name": "Ostiary test", "origins": [ORIGIN]});
    json!({"selfservice": {
        "methods": {"webauthn": {"enabled": true, "config": {"passwordless": true, "rp": rp}}},
        "flows": {"registration": {"after": {"webauthn": {"hooks": [{"hook": "session"}]}}}}
    }})
}

fn node<'a>(flow: &'a Value, name: &str) -> &'a Value {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name)
        .unwrap_or_else(|| panic!("no node {name} in {flow}"))
}

fn options(flow: &Value, name: &str) -> Value {
    serde_json::from_str(node(flow, name)["attributes"]["value"].as_str().unwrap()).unwrap()
}

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let res = c
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn post(
    c: &reqwest::Client,
    app: &TestApp,
    kind: &str,
    flow: &Value,
    mut body: Value,
) -> (u16, Value) {
    body["csrf_token"] = json!(crate::browser::csrf_value(flow));
    let id = flow["id"].as_str().unwrap();
    let res = c
        .post(app.public(&format!("/self-service/{kind}?flow={id}")))
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// Log in by identifier then key: step one's 422, the flow it points at, and step two's answer.
async fn log_in(app: &TestApp, email: &str, auth: &mut Authenticator) -> (u16, Value) {
    let c = new_client();
    let (_, flow) = get(&c, app.public("/self-service/login/browser")).await;
    let offered = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["attributes"]["name"] == "method" && n["attributes"]["value"] == "webauthn");
    assert!(offered, "{flow}");
    let step1 = json!({"method": "webauthn", "identifier": email});
    let (status, body) = post(&c, app, "login", &flow, step1).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["id"], "browser_location_change_required");
    let (_, flow) = get(
        &c,
        app.public(&format!(
            "/self-service/login/flows?id={}",
            flow["id"].as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(flow["ui"]["messages"][0]["id"], 1010012);
    let request = options(&flow, "webauthn_login_trigger");
    assert_eq!(
        request["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let step2 = json!({"identifier": email, "webauthn_login": auth.get(&request, ORIGIN)});
    post(&c, app, "login", &flow, step2).await
}

both_backends_with!(
    a_security_key_signs_up_and_logs_in_without_a_password,
    overlay(),
    |app: TestApp| async move {
        let c = new_client();
        let (_, flow) = get(&c, app.public("/self-service/registration/browser")).await;
        let creation = options(&flow, "webauthn_register_trigger");
        assert_eq!(
            creation["publicKey"]["authenticatorSelection"]["userVerification"],
            "discouraged"
        );
        let mut auth = Authenticator::new();
        let body = json!({"traits": {"email": "key@example.com"}, "webauthn_register_displayname": "blue key",
            "webauthn_register": auth.create(&creation, ORIGIN)});
        let (status, body) = post(&c, &app, "registration", &flow, body).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["session"]["authentication_methods"][0]["method"],
            "webauthn"
        );

        // An address in use refuses the sign-up; the same form then takes another address.
        let c2 = new_client();
        let (_, flow) = get(&c2, app.public("/self-service/registration/browser")).await;
        let creation = options(&flow, "webauthn_register_trigger");
        let mut second = Authenticator::new();
        let body = json!({"traits": {"email": "key@example.com"}, "webauthn_register_displayname": "k",
            "webauthn_register": second.create(&creation, ORIGIN)});
        let (status, body) = post(&c2, &app, "registration", &flow, body).await;
        assert_eq!(status, 400, "{body}");
        let body = json!({"traits": {"email": "key2@example.com"}, "webauthn_register_displayname": "k",
            "webauthn_register": second.create(&creation, ORIGIN)});
        let (status, body) = post(&c2, &app, "registration", &flow, body).await;
        assert_eq!(status, 200, "{body}");

        let (status, body) = log_in(&app, "KEY@example.com", &mut auth).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["session"]["identity"]["traits"]["email"],
            "key@example.com"
        );
        let amr = &body["session"]["authentication_methods"][0];
        assert_eq!(
            (amr["method"].as_str(), amr["aal"].as_str()),
            (Some("webauthn"), Some("aal1"))
        );

        // The admin API removes second-factor keys only: this passwordless key stays.
        let id = body["session"]["identity"]["id"].as_str().unwrap();
        let res = app
            .client
            .delete(app.admin(&format!("/admin/identities/{id}/credentials/webauthn")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let (status, body) = log_in(&app, "key@example.com", &mut auth).await;
        assert_eq!(status, 200, "{body}");

        // Someone else's key for this account: refused with 4000008, nothing issued.
        let mut other = Authenticator::new();
        other.user_handle = auth.user_handle.clone();
        let (status, body) = log_in(&app, "key@example.com", &mut other).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000008);

        // An account without keys, or none at all: 4000015 at step one.
        app.create_identity("nokey@example.com", Some("a long enough password 1"))
            .await;
        for email in ["nokey@example.com", "nobody@example.com"] {
            let c = new_client();
            let (_, flow) = get(&c, app.public("/self-service/login/browser")).await;
            let (status, body) = post(
                &c,
                &app,
                "login",
                &flow,
                json!({"method": "webauthn", "identifier": email}),
            )
            .await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["ui"]["messages"][0]["id"], 4000015, "{email}");
        }
    }
);
