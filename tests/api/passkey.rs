//! Passkeys through native (API) flows, answered by the tests' own software authenticator: sign up
//! with a passkey instead of a password, log in with it alone, and every bad answer (a replayed
//! assertion, a wrong origin, a key nobody registered, malformed JSON, a broken attestation) gets a
//! 400 with the flow and Kratos's message id, never a 500.

use crate::both_backends_with;
use crate::helpers::{api_flow, submit_flow, TestApp};
use crate::soft_authenticator::Authenticator;
use ory_kratos_client::apis::frontend_api;
use ory_kratos_client::models::{UpdateLoginFlowBody, UpdateLoginFlowWithPasskeyMethod};
use serde_json::{json, Value};

const ORIGIN: &str = "https://app.example.com";

fn overlay() -> Value {
    let rp = json!({"id": "app.example.com", "display_name": "Ostiary test", "origins": [ORIGIN]});
    json!({"selfservice": {
        "methods": {"passkey": {"enabled": true, "config": {"rp": rp}}},
        "flows": {"registration": {"after": {"passkey": {"hooks": [{"hook": "session"}]}}}}
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

/// The JSON a hidden node carries as its value.
fn json_value(flow: &Value, name: &str) -> Value {
    serde_json::from_str(node(flow, name)["attributes"]["value"].as_str().unwrap()).unwrap()
}

fn message_ids(flow: &Value) -> Vec<u64> {
    flow["ui"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect()
}

async fn sign_up(app: &TestApp, auth: &mut Authenticator, email: &str) -> (u16, Value) {
    let flow = api_flow(app, "registration", None).await;
    let data = json_value(&flow, "passkey_create_data");
    assert_eq!(data["displayNameFieldName"], "traits.email");
    let options = &data["credentialOptions"];
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    let attestation = auth.create(options, ORIGIN);
    let body =
        json!({"method": "passkey", "traits": {"email": email}, "passkey_register": attestation});
    submit_flow(app, "registration", &flow, body, None, None).await
}

async fn log_in(app: &TestApp, answer: impl FnOnce(&Value) -> String) -> (u16, Value) {
    let flow = api_flow(app, "login", None).await;
    let options = json_value(&flow, "passkey_challenge");
    assert!(
        options["publicKey"].get("allowCredentials").is_none(),
        "discoverable"
    );
    let body = json!({"method": "passkey", "passkey_login": answer(&options)});
    submit_flow(app, "login", &flow, body, None, None).await
}

both_backends_with!(
    a_passkey_signs_up_and_logs_in_alone,
    overlay(),
    |app: TestApp| async move {
        let mut auth = Authenticator::new();
        let (status, body) = sign_up(&app, &mut auth, "pk@example.com").await;
        assert_eq!(status, 200, "{body}");
        let identity_id = body["identity"]["id"].as_str().unwrap().to_string();
        assert_eq!(
            body["session"]["authentication_methods"][0]["method"],
            "passkey"
        );

        // The stored credential is Kratos's shape (read back over the admin API).
        let admin: Value = app
            .client
            .get(app.admin(&format!(
                "/admin/identities/{identity_id}?include_credential=passkey"
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Passkeys are not removed through the admin API, as in Kratos.
        let res = app
            .client
            .delete(app.admin(&format!(
                "/admin/identities/{identity_id}/credentials/passkey"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let cred = &admin["credentials"]["passkey"];
        assert_eq!(cred["identifiers"][0].as_str().unwrap().len(), 64, "{cred}");
        let key = &cred["config"]["credentials"][0];
        assert_eq!(key["attestation_type"], "none");
        assert_eq!(key["is_passwordless"], true);
        assert_eq!(key["flags"]["user_present"], true);

        let (status, body) = log_in(&app, |o| auth.get(o, ORIGIN)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["session"]["identity"]["id"], identity_id.as_str());
        assert_eq!(body["session"]["authenticator_assurance_level"], "aal1");
        let token = body["session_token"].as_str().unwrap().to_string();
        let (code, me) = app.whoami(&token).await;
        assert_eq!(code, 200);
        assert_eq!(me["authentication_methods"][0]["method"], "passkey");

        // The official SDK's passkey body logs in too (the flow read over HTTP: the SDK cannot
        // read flows, see `sdk/mod.rs`).
        let flow = api_flow(&app, "login", None).await;
        let options = json_value(&flow, "passkey_challenge");
        let mut body = UpdateLoginFlowWithPasskeyMethod::new("passkey".into());
        body.passkey_login = Some(auth.get(&options, ORIGIN));
        let via_sdk = frontend_api::update_login_flow(
            &crate::sdk_support::public(&app),
            flow["id"].as_str().unwrap(),
            UpdateLoginFlowBody::Passkey(Box::new(body)),
            None,
            None,
        )
        .await
        .expect("updateLoginFlow with a passkey, through the SDK");
        assert_eq!(via_sdk.session.identity.unwrap().id, identity_id);

        // A refresh names the account's own passkey, and re-checks the same session.
        let flow: Value = reqwest::Client::new()
            .get(app.public("/self-service/login/api?refresh=true"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let options = json_value(&flow, "passkey_challenge");
        assert_eq!(
            options["publicKey"]["allowCredentials"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let body = json!({"method": "passkey", "passkey_login": auth.get(&options, ORIGIN)});
        let (status, refreshed) = submit_flow(&app, "login", &flow, body, Some(&token), None).await;
        assert_eq!(status, 200, "{refreshed}");
        assert_eq!(refreshed["session"]["id"], me["id"]);
        assert_eq!(
            refreshed["session"]["authentication_methods"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
);

both_backends_with!(
    bad_passkey_answers_are_refused_with_the_flow,
    overlay(),
    |app: TestApp| async move {
        let mut auth = Authenticator::new();
        let (status, _) = sign_up(&app, &mut auth, "pk-bad@example.com").await;
        assert_eq!(status, 200);

        // An assertion replayed on another flow: signed over the other flow's challenge.
        let mut first = String::new();
        let (status, _) = log_in(&app, |o| {
            first = auth.get(o, ORIGIN);
            first.clone()
        })
        .await;
        assert_eq!(status, 200);
        let (status, flow) = log_in(&app, |_| first.clone()).await;
        assert_eq!(status, 400, "{flow}");
        assert_eq!(message_ids(&flow), vec![4000008]);

        // The right key and challenge, from an origin that is not the relying party's.
        let (status, flow) = log_in(&app, |o| auth.get(o, "https://evil.example.com")).await;
        assert_eq!(status, 400, "{flow}");
        assert_eq!(message_ids(&flow), vec![4000008]);

        // A key nobody registered (its user handle names no account).
        let mut stranger = Authenticator::new();
        stranger.user_handle = b"nobody-has-this-handle".to_vec();
        let (status, flow) = log_in(&app, |o| stranger.get(o, ORIGIN)).await;
        assert_eq!(status, 400, "{flow}");
        assert_eq!(message_ids(&flow), vec![4000015]);

        // Not an assertion at all.
        for junk in [
            "{not json",
            "{}",
            r#"{"id":"","type":"public-key"}"#,
            "[1,2]",
        ] {
            let (status, flow) = log_in(&app, |_| junk.to_string()).await;
            assert_eq!(status, 400, "{junk}: {flow}");
            assert_eq!(message_ids(&flow), vec![4000001], "{junk}");
        }

        // A registration whose attestation is broken, or made for another origin.
        let flow = api_flow(&app, "registration", None).await;
        let junk = json!({"id": "eA", "rawId": "eA", "type": "public-key",
            "response": {"attestationObject": "AAAA", "clientDataJSON": "AAAA"}});
        let body = json!({"method": "passkey", "traits": {"email": "x@example.com"},
            "passkey_register": junk.to_string()});
        let (status, flow) = submit_flow(&app, "registration", &flow, body, None, None).await;
        assert_eq!(status, 400, "{flow}");
        assert_eq!(message_ids(&flow), vec![4000001]);

        let flow = api_flow(&app, "registration", None).await;
        let options = json_value(&flow, "passkey_create_data")["credentialOptions"].clone();
        let attestation = Authenticator::new().create(&options, "https://evil.example.com");
        let body = json!({"method": "passkey", "traits": {"email": "y@example.com"},
            "passkey_register": attestation});
        let (status, flow) = submit_flow(&app, "registration", &flow, body, None, None).await;
        assert_eq!(status, 400, "{flow}");
        assert_eq!(message_ids(&flow), vec![4000001]);
        let text = flow["ui"]["messages"][0]["text"].as_str().unwrap();
        assert!(
            text.starts_with("Unable to create WebAuthn credential"),
            "{text}"
        );

        // Nothing was half-written: only the first identity exists.
        let all: Value = app
            .client
            .get(app.admin("/admin/identities"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(all.as_array().unwrap().len(), 1);
    }
);
