//! Official-SDK compatibility, continued (see `sdk.rs`): settings, recovery, verification and the
//! courier, every operation driven through `ory-kratos-client` 26.2.0 exactly as an application
//! would call it, on SQLite and PostgreSQL, with a real SMTP server (codes are read from the
//! delivered emails).
//!
//! The SDK cannot read the flow objects these operations answer with, from Kratos or from here
//! (`sdk.rs` module docs; `sdk_flow_models_fail_on_kratos_json` below shows it on Kratos-shaped
//! JSON for these three flows):
//!
//! * every `SettingsFlow`, `RecoveryFlow` and `VerificationFlow` with at least one UI node fails with
//!   "missing field `node_type`" — `createNative*Flow`, `createBrowser*Flow`, `get*Flow` and every
//!   successful (2xx) `update*Flow`;
//! * a native recovery flow that passed its challenge has no nodes left but carries `continue_with`
//!   items (`set_ory_session_token`, `show_settings_ui`): "missing field `action`". So an application
//!   using the SDK never sees the session token a native recovery issues.
//!
//! Each such call asserts that the SDK fails with exactly that serde error (so the test notices when
//! the SDK is fixed), and the same operation is then checked over plain HTTP. The HTTP body is read
//! with the SDK's own models part by part (`read_flow`: each node's attributes with the model of its
//! `node_type`, each `continue_with` item with the model of its `action`, the rest with the flow
//! model), so it is checked against the SDK's schema all the same.
//!
//! What does work through the SDK: every request body (`UpdateSettingsFlowBody`,
//! `UpdateRecoveryFlowBody`, `UpdateVerificationFlowBody` — the `method` tag is written twice, and the
//! server takes it), every error answer (400 + flow, 401, 403, 404, 410, 422: the SDK hands over the
//! status and the body), the admin recovery code and link, and the courier messages. The SDK cannot
//! send an invalid courier `status` (the parameter is an enum) nor read the `Link` header, so those
//! two are done over plain HTTP.
//!
//! Browser flows use a `Configuration` whose client keeps cookies and sends
//! `Accept: application/json` (an SPA, or a server-side app acting for the browser): the SDK's
//! `createBrowser*Flow` has no such parameter, and without it the server (like Kratos) redirects to
//! the flow's UI instead of answering with the flow.

use crate::both_backends_with_mail;
use crate::helpers::{six_digits, MailServer, TestApp, PASSWORD};
use crate::sdk_support::{admin, err, generic_body, ok, public};
use ory_kratos_client::apis::configuration::Configuration;
use ory_kratos_client::apis::{courier_api, frontend_api, identity_api, Error};
use ory_kratos_client::models;
use ory_kratos_client::models::CourierMessageStatus as Status;
use reqwest::cookie::CookieStore;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::fmt::Debug;
use std::sync::Arc;

const NODE_TYPE: &str = "missing field `node_type`";
const ACTION: &str = "missing field `action`";
const NEW_PASSWORD: &str = "a completely new passphrase";

// ---------------------------------------------------------------------------------------------
// SDK configurations and result helpers.

/// A browser as the SDK sees it: a cookie jar, `Accept: application/json`, no redirects followed.
struct Browser {
    sdk: Configuration,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            sdk: Configuration {
                base_path: app.public_url.clone(),
                client,
                ..Default::default()
            },
            jar,
        }
    }

    /// The same client, for the plain-HTTP half of a check.
    fn http(&self) -> &reqwest::Client {
        &self.sdk.client
    }

    /// The `Cookie` header this browser sends to the public port (what a server-side app forwards).
    fn cookie_header(&self, app: &TestApp) -> String {
        let url = url::Url::parse(&app.public_url).unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// The SDK's known failure to read the (correct) answer: exactly `missing` as a serde data error.
fn assert_sdk_cannot_read<T: Debug, E: Debug>(what: &str, r: Result<T, Error<E>>, missing: &str) {
    match r {
        Err(Error::Serde(e)) => {
            assert!(e.is_data(), "{what}: unexpected serde error {e}");
            assert!(
                e.to_string().starts_with(missing),
                "{what}: expected the SDK's \"{missing}\" failure, got {e}"
            );
        }
        other => panic!("{what}: expected the SDK's \"{missing}\" failure, got {other:?}"),
    }
}

/// Send a plain-HTTP request: status and JSON body (Null if none).
async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// Reading a flow with the SDK's models, around the SDK's two defects.

/// A flow model whose UI nodes (and `continue_with` items) the SDK cannot read as a whole.
trait SdkFlow: DeserializeOwned {
    fn ui_mut(&mut self) -> &mut models::UiContainer;
    fn continue_with_mut(&mut self) -> Option<&mut Option<Vec<models::ContinueWith>>>;
}

impl SdkFlow for models::SettingsFlow {
    fn ui_mut(&mut self) -> &mut models::UiContainer {
        &mut self.ui
    }
    fn continue_with_mut(&mut self) -> Option<&mut Option<Vec<models::ContinueWith>>> {
        Some(&mut self.continue_with)
    }
}

impl SdkFlow for models::RecoveryFlow {
    fn ui_mut(&mut self) -> &mut models::UiContainer {
        &mut self.ui
    }
    fn continue_with_mut(&mut self) -> Option<&mut Option<Vec<models::ContinueWith>>> {
        Some(&mut self.continue_with)
    }
}

impl SdkFlow for models::VerificationFlow {
    fn ui_mut(&mut self) -> &mut models::UiContainer {
        &mut self.ui
    }
    fn continue_with_mut(&mut self) -> Option<&mut Option<Vec<models::ContinueWith>>> {
        None
    }
}

fn model<T: DeserializeOwned>(what: &str, v: &Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what}: the SDK's model cannot read {v}: {e}"))
}

/// One UI node, its attributes read with the model its `node_type` names.
fn sdk_node(what: &str, n: &Value) -> models::UiNode {
    use models::UiNodeAttributes as A;
    let a = &n["attributes"];
    assert_eq!(
        a["node_type"], n["type"],
        "{what}: node_type repeats type: {n}"
    );
    let attributes = match a["node_type"].as_str() {
        Some("input") => A::Input(Box::new(model(what, a))),
        Some("text") => A::Text(Box::new(model(what, a))),
        Some("img") => A::Img(Box::new(model(what, a))),
        Some("a") => A::A(Box::new(model(what, a))),
        Some("script") => A::Script(Box::new(model(what, a))),
        Some("div") => A::Div(Box::new(model(what, a))),
        _ => panic!("{what}: unknown node_type in {n}"),
    };
    models::UiNode {
        attributes: Box::new(attributes),
        group: model(what, &n["group"]),
        messages: model(what, &n["messages"]),
        meta: Box::new(model(what, &n["meta"])),
        r#type: model(what, &n["type"]),
    }
}

/// One `continue_with` item, read with the model its `action` names.
fn sdk_continue_with(what: &str, item: &Value) -> models::ContinueWith {
    use models::ContinueWith as C;
    match item["action"].as_str() {
        Some("set_ory_session_token") => C::SetOrySessionToken(Box::new(model(what, item))),
        Some("show_settings_ui") => C::ShowSettingsUi(Box::new(model(what, item))),
        Some("show_verification_ui") => C::ShowVerificationUi(Box::new(model(what, item))),
        Some("show_recovery_ui") => C::ShowRecoveryUi(Box::new(model(what, item))),
        Some("redirect_browser_to") => C::RedirectBrowserTo(Box::new(model(what, item))),
        _ => panic!("{what}: unknown continue_with action in {item}"),
    }
}

/// Read a flow body with the SDK's models. If the SDK reads it as a whole, that is used; otherwise
/// the SDK's error must be one of its two known defects, and the flow is read part by part.
fn read_flow<T: SdkFlow>(what: &str, body: &Value) -> T {
    match serde_json::from_value::<T>(body.clone()) {
        Ok(f) => return f,
        Err(e) => assert!(
            e.to_string().starts_with(NODE_TYPE) || e.to_string().starts_with(ACTION),
            "{what}: the SDK fails on this flow for an unexpected reason: {e}: {body}"
        ),
    }
    let nodes = body["ui"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no ui.nodes in {body}"))
        .clone();
    let items = body.get("continue_with").and_then(Value::as_array).cloned();
    let mut rest = body.clone();
    rest["ui"]["nodes"] = json!([]);
    if items.is_some() {
        rest["continue_with"] = Value::Null;
    }
    let mut flow: T = serde_json::from_value(rest).unwrap_or_else(|e| {
        panic!("{what}: the SDK cannot read the flow even without nodes and continue_with: {e}: {body}")
    });
    flow.ui_mut().nodes = nodes.iter().map(|n| sdk_node(what, n)).collect();
    if let Some(items) = items {
        *flow
            .continue_with_mut()
            .unwrap_or_else(|| panic!("{what}: this flow has no continue_with: {body}")) =
            Some(items.iter().map(|i| sdk_continue_with(what, i)).collect());
    }
    flow
}

fn inputs(ui: &models::UiContainer) -> Vec<&models::UiNodeInputAttributes> {
    ui.nodes
        .iter()
        .filter_map(|n| match n.attributes.as_ref() {
            models::UiNodeAttributes::Input(a) => Some(a.as_ref()),
            _ => None,
        })
        .collect()
}

/// The first input node named `name`.
fn input<'a>(ui: &'a models::UiContainer, name: &str) -> &'a models::UiNodeInputAttributes {
    inputs(ui)
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no input {name:?} in {:?}", names(ui)))
}

fn names(ui: &models::UiContainer) -> Vec<String> {
    inputs(ui).iter().map(|a| a.name.clone()).collect()
}

fn value(a: &models::UiNodeInputAttributes) -> Value {
    a.value.clone().flatten().unwrap_or(Value::Null)
}

/// The anti-CSRF token of a browser flow.
fn csrf(ui: &models::UiContainer) -> String {
    let v = value(input(ui, "csrf_token"));
    let t = v.as_str().expect("csrf_token value").to_string();
    assert!(!t.is_empty(), "browser flows carry a CSRF token");
    t
}

/// The ids of the flow-level UI messages.
fn messages(ui: &models::UiContainer) -> Vec<i64> {
    ui.messages.iter().flatten().map(|m| m.id).collect()
}

/// The ids of the messages on the nodes named `name`.
fn node_messages(ui: &models::UiContainer, name: &str) -> Vec<i64> {
    ui.nodes
        .iter()
        .filter(|n| match n.attributes.as_ref() {
            models::UiNodeAttributes::Input(a) => a.name == name,
            _ => false,
        })
        .flat_map(|n| n.messages.iter().map(|m| m.id))
        .collect()
}

fn state(s: &Option<Value>) -> &str {
    s.as_ref().and_then(Value::as_str).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// Request bodies (the SDK's types) and small flows.

fn profile(traits: Value) -> models::UpdateSettingsFlowBody {
    models::UpdateSettingsFlowBody::Profile(Box::new(
        models::UpdateSettingsFlowWithProfileMethod::new("profile".into(), traits),
    ))
}

fn profile_csrf(traits: Value, csrf: &str) -> models::UpdateSettingsFlowBody {
    let mut b = models::UpdateSettingsFlowWithProfileMethod::new("profile".into(), traits);
    b.csrf_token = Some(csrf.into());
    models::UpdateSettingsFlowBody::Profile(Box::new(b))
}

fn password(pw: &str, csrf: Option<&str>) -> models::UpdateSettingsFlowBody {
    let mut b = models::UpdateSettingsFlowWithPasswordMethod::new("password".into(), pw.into());
    b.csrf_token = csrf.map(str::to_string);
    models::UpdateSettingsFlowBody::Password(Box::new(b))
}

fn recovery_email(email: &str, csrf: Option<&str>) -> models::UpdateRecoveryFlowBody {
    use models::update_recovery_flow_with_code_method::MethodEnum;
    let mut b = models::UpdateRecoveryFlowWithCodeMethod::new(MethodEnum::Code);
    b.email = Some(email.into());
    b.csrf_token = csrf.map(str::to_string);
    models::UpdateRecoveryFlowBody::Code(Box::new(b))
}

fn recovery_code(code: &str, csrf: Option<&str>) -> models::UpdateRecoveryFlowBody {
    use models::update_recovery_flow_with_code_method::MethodEnum;
    let mut b = models::UpdateRecoveryFlowWithCodeMethod::new(MethodEnum::Code);
    b.code = Some(code.into());
    b.csrf_token = csrf.map(str::to_string);
    models::UpdateRecoveryFlowBody::Code(Box::new(b))
}

fn verification_email(email: &str, csrf: Option<&str>) -> models::UpdateVerificationFlowBody {
    use models::update_verification_flow_with_code_method::MethodEnum;
    let mut b = models::UpdateVerificationFlowWithCodeMethod::new(MethodEnum::Code);
    b.email = Some(email.into());
    b.csrf_token = csrf.map(str::to_string);
    models::UpdateVerificationFlowBody::Code(Box::new(b))
}

fn verification_code(code: &str, csrf: Option<&str>) -> models::UpdateVerificationFlowBody {
    use models::update_verification_flow_with_code_method::MethodEnum;
    let mut b = models::UpdateVerificationFlowWithCodeMethod::new(MethodEnum::Code);
    b.code = Some(code.into());
    b.csrf_token = csrf.map(str::to_string);
    models::UpdateVerificationFlowBody::Code(Box::new(b))
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// `createIdentity` through the SDK, with a password.
async fn create(admin: &Configuration, email: &str) -> models::Identity {
    let mut body = models::CreateIdentityBody::new("default".into(), json!({ "email": email }));
    body.credentials = Some(Box::new(models::IdentityWithCredentials {
        password: Some(Box::new(models::IdentityWithCredentialsPassword {
            config: Some(Box::new(models::IdentityWithCredentialsPasswordConfig {
                password: Some(PASSWORD.into()),
                ..Default::default()
            })),
        })),
        ..Default::default()
    }));
    ok(
        "createIdentity",
        identity_api::create_identity(admin, Some(body)).await,
    )
}

async fn get_identity(admin: &Configuration, id: &str) -> models::Identity {
    ok(
        "getIdentity",
        identity_api::get_identity(admin, id, None).await,
    )
}

/// Native login: the flow over HTTP (the SDK cannot read it), `updateLoginFlow` through the SDK.
/// Returns the status and, on success, the session token.
async fn try_login(
    app: &TestApp,
    public: &Configuration,
    email: &str,
    pw: &str,
) -> Result<String, u16> {
    let (status, flow) =
        send(reqwest::Client::new().get(app.public("/self-service/login/api"))).await;
    assert_eq!(status, 200);
    let body = models::UpdateLoginFlowBody::Password(Box::new(
        models::UpdateLoginFlowWithPasswordMethod::new(email.into(), "password".into(), pw.into()),
    ));
    match frontend_api::update_login_flow(public, flow["id"].as_str().unwrap(), body, None, None)
        .await
    {
        Ok(res) => Ok(res.session_token.expect("session_token")),
        Err(Error::ResponseError(rc)) => Err(rc.status.as_u16()),
        Err(e) => panic!("updateLoginFlow: the SDK failed: {e}"),
    }
}

async fn login(app: &TestApp, public: &Configuration, email: &str, pw: &str) -> String {
    try_login(app, public, email, pw)
        .await
        .unwrap_or_else(|s| panic!("login {email}: HTTP {s}"))
}

async fn whoami(public: &Configuration, token: &str) -> models::Session {
    ok(
        "toSession",
        frontend_api::to_session(public, Some(token), None, None).await,
    )
}

fn first_method(s: &models::Session) -> models::session_authentication_method::MethodEnum {
    s.authentication_methods.as_ref().unwrap()[0]
        .method
        .expect("method")
}

/// Log a browser in over HTTP (the SDK cannot read the login flow nor, for browsers, its answer).
async fn browser_login(app: &TestApp, b: &Browser, email: &str) {
    let (status, flow) = send(b.http().get(app.public("/self-service/login/browser"))).await;
    assert_eq!(status, 200);
    let csrf = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .unwrap()["attributes"]["value"]
        .clone();
    let (status, body) = send(
        b.http()
            .post(app.public(&format!(
                "/self-service/login?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .json(
                &json!({"method": "password", "identifier": email, "password": PASSWORD,
                          "csrf_token": csrf}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Wait for the `n`th mail to `to` and return its code.
async fn nth_code(mail: &MailServer, to: &str, n: usize) -> String {
    let mails = mail.wait_for(to, n).await;
    six_digits(&mails[n - 1].body)
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

// ---------------------------------------------------------------------------------------------
// The SDK's limits on Kratos-shaped JSON, and its request bodies (no server involved).

#[test]
fn sdk_flow_models_fail_on_kratos_json() {
    // A native recovery flow right after `createNativeRecoveryFlow` (node shape as in §6.2 of the
    // contract: `attributes.node_type` repeats `type`).
    let email_node = json!({"type": "input", "group": "code",
        "attributes": {"name": "email", "type": "email", "required": true, "disabled": false,
                       "node_type": "input"},
        "messages": [], "meta": {"label": {"id": 1070007, "text": "Email", "type": "info"}}});
    let recovery = json!({
        "id": "0b7e3a70-2f0d-4d5e-a3a4-8d7c6b5a4f31", "type": "api",
        "expires_at": "2026-03-20T12:00:00Z", "issued_at": "2026-03-20T11:00:00Z",
        "request_url": "http://127.0.0.1:4433/self-service/recovery/api", "active": "code",
        "ui": {"action": "http://127.0.0.1:4433/self-service/recovery?flow=0b7e3a70-2f0d-4d5e-a3a4-8d7c6b5a4f31",
               "method": "POST", "nodes": [email_node]},
        "state": "choose_method"
    });
    let e = serde_json::from_value::<models::RecoveryFlow>(recovery.clone()).unwrap_err();
    assert!(e.to_string().starts_with(NODE_TYPE), "{e}");
    let mut verification = recovery.clone();
    verification["request_url"] = json!("http://127.0.0.1:4433/self-service/verification/api");
    let e = serde_json::from_value::<models::VerificationFlow>(verification).unwrap_err();
    assert!(e.to_string().starts_with(NODE_TYPE), "{e}");
    let identity = json!({"id": "0f2a3c1e-51a6-4c47-8a4c-2b6d0c1e9f00", "schema_id": "default",
        "schema_url": "http://127.0.0.1:4433/schemas/ZGVmYXVsdA", "state": "active",
        "traits": {"email": "a@example.com"}});
    let mut settings = recovery.clone();
    settings["identity"] = identity;
    settings["state"] = json!("show_form");
    let e = serde_json::from_value::<models::SettingsFlow>(settings.clone()).unwrap_err();
    assert!(e.to_string().starts_with(NODE_TYPE), "{e}");

    // The same native recovery flow after the code was accepted: no nodes left, and the two
    // `continue_with` items of `selfservice/flow/continue_with.go`.
    let mut passed = recovery.clone();
    passed["ui"]["nodes"] = json!([]);
    passed["state"] = json!("passed_challenge");
    passed["continue_with"] = json!([
        {"action": "set_ory_session_token", "ory_session_token": "ory_st_abcdefghijklmnopqrstuvwxyz012345"},
        {"action": "show_settings_ui", "flow": {"id": "5b4b5b7e-3a2f-4a8e-9a57-5c0b2f1b1d11"}}
    ]);
    let e = serde_json::from_value::<models::RecoveryFlow>(passed.clone()).unwrap_err();
    assert!(e.to_string().starts_with(ACTION), "{e}");

    // Read part by part, everything is there.
    let f: models::RecoveryFlow = read_flow("recovery (kratos json)", &recovery);
    assert_eq!(
        input(&f.ui, "email").r#type,
        models::ui_node_input_attributes::TypeEnum::Email
    );
    let f: models::RecoveryFlow = read_flow("recovery passed (kratos json)", &passed);
    assert!(matches!(
        &f.continue_with.unwrap()[..],
        [
            models::ContinueWith::SetOrySessionToken(_),
            models::ContinueWith::ShowSettingsUi(_)
        ]
    ));
    let f: models::SettingsFlow = read_flow("settings (kratos json)", &settings);
    assert_eq!(f.identity.id, "0f2a3c1e-51a6-4c47-8a4c-2b6d0c1e9f00");
}

#[test]
fn sdk_flow_request_bodies() {
    // The `method` tag is written twice (the enum's tag and the variant's field); the live tests show
    // the server takes it.
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"method": "profile", "traits": {"email": "a@example.com"}}),
            serde_json::to_string(&profile(json!({"email": "a@example.com"}))).unwrap(),
        ),
        (
            json!({"method": "password", "password": "pw", "csrf_token": "t"}),
            serde_json::to_string(&password("pw", Some("t"))).unwrap(),
        ),
        (
            json!({"method": "code", "email": "a@example.com"}),
            serde_json::to_string(&recovery_email("a@example.com", None)).unwrap(),
        ),
        (
            json!({"method": "code", "code": "123456", "csrf_token": "t"}),
            serde_json::to_string(&recovery_code("123456", Some("t"))).unwrap(),
        ),
        (
            json!({"method": "code", "email": "a@example.com"}),
            serde_json::to_string(&verification_email("a@example.com", None)).unwrap(),
        ),
        (
            json!({"method": "code", "code": "123456"}),
            serde_json::to_string(&verification_code("123456", None)).unwrap(),
        ),
    ];
    for (meaning, wire) in cases {
        let method = meaning["method"].as_str().unwrap();
        assert_eq!(
            wire.matches(&format!("\"method\":\"{method}\"")).count(),
            2,
            "{wire}"
        );
        // A JSON reader keeping the last duplicate (as serde_json and Go do) sees exactly `meaning`.
        assert_eq!(
            serde_json::from_str::<Value>(&wire).unwrap(),
            meaning,
            "{wire}"
        );
    }
    // Admin bodies are plain.
    let mut code = models::CreateRecoveryCodeForIdentityBody::new("x".into());
    code.flow_type = Some("api".into());
    code.expires_in = Some("1h".into());
    assert_eq!(
        serde_json::to_value(&code).unwrap(),
        json!({"identity_id": "x", "flow_type": "api", "expires_in": "1h"})
    );
    assert_eq!(
        serde_json::to_value(models::CreateRecoveryLinkForIdentityBody::new("x".into())).unwrap(),
        json!({"identity_id": "x"})
    );
}

// ---------------------------------------------------------------------------------------------
// Settings, native.

mod admin;
mod browser;
mod native;
