//! Official-SDK compatibility: every operation driven through the official Rust SDK
//! (`ory-kratos-client` 26.2.0, generated from Kratos's OpenAPI document), exactly as an application
//! would call it, on SQLite and PostgreSQL. A response the SDK cannot deserialize fails the test.
//!
//! Where the SDK cannot deserialize Kratos's *own* documented response, `sdk_models_fail_on_kratos_json`
//! shows it on the documented JSON, the live test asserts the SDK fails the same way against this
//! server, and the operation is then checked over plain HTTP:
//!
//! * Every flow object (`LoginFlow`, `RegistrationFlow`, … — `createNative*Flow`, `get*Flow`): the
//!   SDK models `ui.nodes[].attributes` as an enum internally tagged by `node_type` *and* keeps a
//!   required `node_type` field in each variant; serde consumes the tag, so every node fails with
//!   "missing field `node_type`". An application cannot read a flow (its id) through this SDK.
//! * `continue_with` items (`ContinueWith`, internally tagged by `action`, each variant also
//!   requiring `action`): "missing field `action`". So `updateRegistrationFlow` fails whenever the
//!   response carries an item, e.g. `set_ory_session_token` when the `session` after-registration hook
//!   is on (native login is unaffected: its `continue_with` is `null`).
//! * Requests: `UpdateLoginFlowBody`/`UpdateRegistrationFlowBody` serialize `"method"` twice (the tag
//!   and the field). Kratos and this server accept it; the live tests prove the server does.
//!
//! The SDK also never exposes response headers, so the `Link` header's `page_token` is read over
//! plain HTTP and handed to the SDK, as an application would have to.

use crate::helpers::{TestApp, PASSWORD};
use crate::sdk_support::{admin, err, generic, ok, public};
use crate::{both_backends, both_backends_with};
use ory_kratos_client::apis::configuration::Configuration;
use ory_kratos_client::apis::{frontend_api, identity_api, metadata_api, Error};
use ory_kratos_client::models;
use ory_kratos_client::models::AuthenticatorAssuranceLevel as Aal;
use serde_json::{json, Value};
use std::fmt::Debug;

/// The user agent the SDK sends by default (recorded as the session's device).
const SDK_USER_AGENT: &str = "OpenAPI-Generator/v26.2.0/rust";

/// The SDK's known failure on every flow object (see the module docs).
fn assert_node_type_failure<T: Debug, E: Debug>(what: &str, r: Result<T, Error<E>>) {
    match r {
        Err(Error::Serde(e)) => assert!(
            e.to_string().contains("missing field `node_type`"),
            "{what}: unexpected serde error {e}"
        ),
        other => panic!("{what}: expected the SDK's `node_type` failure, got {other:?}"),
    }
}

fn password_credentials(password: &str) -> Box<models::IdentityWithCredentials> {
    Box::new(models::IdentityWithCredentials {
        password: Some(Box::new(models::IdentityWithCredentialsPassword {
            config: Some(Box::new(models::IdentityWithCredentialsPasswordConfig {
                password: Some(password.into()),
                ..Default::default()
            })),
        })),
        ..Default::default()
    })
}

fn create_body(email: &str, password: Option<&str>) -> models::CreateIdentityBody {
    let mut body = models::CreateIdentityBody::new("default".into(), json!({ "email": email }));
    body.credentials = password.map(password_credentials);
    body
}

/// `createIdentity` through the SDK.
async fn create(admin: &Configuration, email: &str, password: Option<&str>) -> models::Identity {
    ok(
        "createIdentity",
        identity_api::create_identity(admin, Some(create_body(email, password))).await,
    )
}

/// `createNative{Login,Registration}Flow` over plain HTTP (the SDK cannot read flows), checking
/// the node shape Kratos documents.
async fn native_flow(app: &TestApp, kind: &str) -> Value {
    let res = reqwest::Client::new()
        .get(app.public(&format!("/self-service/{kind}/api")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "create native {kind} flow");
    let flow: Value = res.json().await.unwrap();
    assert_eq!(flow["type"], "api");
    for n in flow["ui"]["nodes"].as_array().unwrap() {
        assert_eq!(n["attributes"]["node_type"], n["type"], "{n}");
    }
    flow
}

fn password_login(identifier: &str, password: &str) -> models::UpdateLoginFlowBody {
    models::UpdateLoginFlowBody::Password(Box::new(models::UpdateLoginFlowWithPasswordMethod::new(
        identifier.into(),
        "password".into(),
        password.into(),
    )))
}

fn password_registration(email: &str, password: &str) -> models::UpdateRegistrationFlowBody {
    models::UpdateRegistrationFlowBody::Password(Box::new(
        models::UpdateRegistrationFlowWithPasswordMethod::new(
            "password".into(),
            password.into(),
            json!({ "email": email }),
        ),
    ))
}

/// Native login: the flow over HTTP, `updateLoginFlow` through the SDK.
async fn login(
    app: &TestApp,
    public: &Configuration,
    identifier: &str,
    password: &str,
) -> models::SuccessfulNativeLogin {
    let flow = native_flow(app, "login").await;
    let id = flow["id"].as_str().unwrap();
    ok(
        "updateLoginFlow",
        frontend_api::update_login_flow(
            public,
            id,
            password_login(identifier, password),
            None,
            None,
        )
        .await,
    )
}

async fn login_token(app: &TestApp, public: &Configuration, identifier: &str) -> String {
    login(app, public, identifier, PASSWORD)
        .await
        .session_token
        .expect("native login returns a session token")
}

async fn whoami(public: &Configuration, token: &str) -> models::Session {
    ok(
        "toSession",
        frontend_api::to_session(public, Some(token), None, None).await,
    )
}

/// `toSession` must now answer Kratos's 401.
async fn assert_dead(public: &Configuration, token: &str) {
    let (status, e) = generic(
        "toSession (revoked)",
        frontend_api::to_session(public, Some(token), None, None).await,
    );
    assert_eq!(status, 401);
    assert_eq!(
        e.reason.as_deref(),
        Some("No valid session credentials found in the request.")
    );
    assert_eq!(e.id, None, "whoami's 401 carries no error id");
}

/// The `page_token` of the `rel="next"` entry of the `Link` header `url` answers with.
async fn next_page_token(url: &str, session_token: Option<&str>) -> Option<String> {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = session_token {
        req = req.header("X-Session-Token", t);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    let link = res.headers().get("link")?.to_str().ok()?.to_string();
    let next = link.split(',').find(|p| p.contains("rel=\"next\""))?;
    let target = next.trim().trim_start_matches('<').split('>').next()?;
    url::Url::parse(target)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "page_token")
        .map(|(_, v)| v.into_owned())
}

fn ts(s: &Option<String>) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s.as_deref().expect("timestamp present"))
        .expect("RFC 3339 timestamp")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// The SDK's own limits, shown on the JSON Kratos documents (no server involved).

#[test]
fn sdk_models_fail_on_kratos_json() {
    // A login flow as Kratos v26.2.0 sends it (node list of
    // selfservice/strategy/password/.snapshots/TestFormHydration-method=PopulateLoginMethodFirstFactor.json).
    let kratos_login_flow = json!({
        "id": "5b4b5b7e-3a2f-4a8e-9a57-5c0b2f1b1d11", "type": "api",
        "expires_at": "2026-03-20T12:00:00Z", "issued_at": "2026-03-20T11:00:00Z",
        "created_at": "2026-03-20T11:00:00Z", "updated_at": "2026-03-20T11:00:00Z",
        "request_url": "http://127.0.0.1:4433/self-service/login/api",
        "state": "choose_method", "refresh": false, "requested_aal": "aal1",
        "ui": {
            "action": "http://127.0.0.1:4433/self-service/login?flow=5b4b5b7e-3a2f-4a8e-9a57-5c0b2f1b1d11",
            "method": "POST",
            "nodes": [
                {"type": "input", "group": "default",
                 "attributes": {"name": "identifier", "type": "text", "value": "", "required": true,
                                "disabled": false, "node_type": "input"},
                 "messages": [], "meta": {"label": {"id": 1070004, "text": "ID", "type": "info"}}},
                {"type": "input", "group": "password",
                 "attributes": {"name": "password", "type": "password", "required": true,
                                "autocomplete": "current-password", "disabled": false, "node_type": "input"},
                 "messages": [], "meta": {"label": {"id": 1070001, "text": "Password", "type": "info"}}},
                {"type": "input", "group": "password",
                 "attributes": {"name": "method", "type": "submit", "value": "password",
                                "disabled": false, "node_type": "input"},
                 "messages": [], "meta": {"label": {"id": 1010022, "text": "Sign in with password", "type": "info"}}}
            ]
        }
    });
    let e = serde_json::from_value::<models::LoginFlow>(kratos_login_flow.clone()).unwrap_err();
    assert!(e.to_string().contains("missing field `node_type`"), "{e}");
    let mut registration_flow = kratos_login_flow.clone();
    registration_flow.as_object_mut().unwrap().remove("refresh");
    registration_flow
        .as_object_mut()
        .unwrap()
        .remove("requested_aal");
    let e = serde_json::from_value::<models::RegistrationFlow>(registration_flow).unwrap_err();
    assert!(e.to_string().contains("missing field `node_type`"), "{e}");
    // Without nodes the same flow reads fine: the node attributes are the only problem.
    let mut no_nodes = kratos_login_flow;
    no_nodes["ui"]["nodes"] = json!([]);
    serde_json::from_value::<models::LoginFlow>(no_nodes).expect("flow without nodes");

    // A native registration with the `session` hook (selfservice/hook/session_issuer.go).
    let token = "ory_st_abcdefghijklmnopqrstuvwxyz012345";
    let identity = json!({"id": "0f2a3c1e-51a6-4c47-8a4c-2b6d0c1e9f00", "schema_id": "default",
        "schema_url": "http://127.0.0.1:4433/schemas/ZGVmYXVsdA", "state": "active",
        "traits": {"email": "a@example.com"}, "metadata_public": null,
        "created_at": "2026-03-20T11:00:00Z", "updated_at": "2026-03-20T11:00:00Z"});
    let kratos_registration = json!({
        "identity": identity,
        "session": {"id": "8d1e3f4a-0b7c-4d2e-9f11-3a5b6c7d8e90", "active": true,
                    "expires_at": "2026-03-21T11:00:00Z", "authenticated_at": "2026-03-20T11:00:00Z",
                    "issued_at": "2026-03-20T11:00:00Z", "authenticator_assurance_level": "aal1",
                    "authentication_methods": [{"method": "password", "aal": "aal1",
                                                "completed_at": "2026-03-20T11:00:00Z"}],
                    "identity": identity, "devices": []},
        "session_token": token,
        "continue_with": [{"action": "set_ory_session_token", "ory_session_token": token}]
    });
    let e =
        serde_json::from_value::<models::SuccessfulNativeRegistration>(kratos_registration.clone())
            .unwrap_err();
    assert!(e.to_string().contains("missing field `action`"), "{e}");
    let e = serde_json::from_value::<models::ContinueWith>(
        json!({"action": "set_ory_session_token", "ory_session_token": token}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("missing field `action`"), "{e}");
    // Without continue_with items it reads fine.
    let mut without = kratos_registration;
    without["continue_with"] = Value::Null;
    serde_json::from_value::<models::SuccessfulNativeRegistration>(without)
        .expect("registration without continue_with");

    // Requests: the method tag is written twice.
    let body = serde_json::to_string(&password_login("a@example.com", "pw")).unwrap();
    assert_eq!(body.matches("\"method\":\"password\"").count(), 2, "{body}");
}

mod identities;
mod login;
mod sessions;
