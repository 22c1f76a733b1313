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

fn public(app: &TestApp) -> Configuration {
    Configuration {
        base_path: app.public_url.clone(),
        ..Default::default()
    }
}

fn admin(app: &TestApp) -> Configuration {
    Configuration {
        base_path: app.admin_url.clone(),
        ..Default::default()
    }
}

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

/// Unwrap an SDK result; otherwise fail with the SDK's own complaint (HTTP status or serde error).
fn ok<T, E: Debug>(what: &str, r: Result<T, Error<E>>) -> T {
    match r {
        Ok(v) => v,
        Err(Error::ResponseError(rc)) => panic!("{what}: HTTP {} {}", rc.status, rc.content),
        Err(e) => panic!("{what}: the SDK failed: {e} ({e:?})"),
    }
}

/// The status and JSON body of an SDK error response; anything else fails.
fn err<T: Debug, E: Debug>(what: &str, r: Result<T, Error<E>>) -> (u16, Value) {
    match r {
        Ok(v) => panic!("{what}: expected an error response, got {v:?}"),
        Err(Error::ResponseError(rc)) => (
            rc.status.as_u16(),
            serde_json::from_str(&rc.content)
                .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {}", rc.content)),
        ),
        Err(e) => panic!("{what}: expected an error response, the SDK failed: {e} ({e:?})"),
    }
}

/// An SDK error response read as the SDK's `ErrorGeneric`; returns the status, the inner error
/// (whose `code` must equal the status) and the raw body (for top-level extras).
fn generic<T: Debug, E: Debug>(
    what: &str,
    r: Result<T, Error<E>>,
) -> (u16, models::GenericError, Value) {
    match r {
        Ok(v) => panic!("{what}: expected an error response, got {v:?}"),
        Err(Error::ResponseError(rc)) => {
            let status = rc.status.as_u16();
            assert!(
                rc.entity.is_some(),
                "{what}: the SDK could not read the error body {}",
                rc.content
            );
            let e: models::ErrorGeneric = serde_json::from_str(&rc.content).unwrap_or_else(|x| {
                panic!(
                    "{what}: {status} body is not the SDK's ErrorGeneric: {x}: {}",
                    rc.content
                )
            });
            assert_eq!(e.error.code, Some(status as i64), "{what}: {}", rc.content);
            (status, *e.error, serde_json::from_str(&rc.content).unwrap())
        }
        Err(e) => panic!("{what}: expected an error response, the SDK failed: {e} ({e:?})"),
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

both_backends_with_mail!(
    sdk_settings_native,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let sandra = create(&admin, "sandra@example.com").await;
        let token = login(&app, &public, "sandra@example.com", PASSWORD).await;

        // createNativeSettingsFlow: a session is required; the error reads through the SDK.
        let (status, e, _) = generic(
            "createNativeSettingsFlow (no session)",
            frontend_api::create_native_settings_flow(&public, None).await,
        );
        assert_eq!(status, 401);
        assert_eq!(e.id.as_deref(), Some("session_inactive"));
        assert_sdk_cannot_read(
            "createNativeSettingsFlow",
            frontend_api::create_native_settings_flow(&public, Some(&token)).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public("/self-service/settings/api"))
                .header("X-Session-Token", &token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow: models::SettingsFlow = read_flow("createNativeSettingsFlow", &body);
        assert_eq!(flow.r#type, "api");
        assert_eq!(state(&flow.state), "show_form");
        assert_eq!(flow.identity.id, sandra.id);
        assert_eq!(
            flow.ui.action,
            app.public(&format!("/self-service/settings?flow={}", flow.id))
        );
        assert_eq!(
            value(input(&flow.ui, "traits.email")),
            json!("sandra@example.com")
        );
        assert_eq!(
            input(&flow.ui, "password").r#type,
            models::ui_node_input_attributes::TypeEnum::Password
        );
        assert!(!names(&flow.ui).contains(&"csrf_token".to_string()));
        let id = flow.id.clone();

        // getSettingsFlow.
        assert_sdk_cannot_read(
            "getSettingsFlow",
            frontend_api::get_settings_flow(&public, &id, Some(&token), None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/settings/flows?id={id}")))
                .header("X-Session-Token", &token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::SettingsFlow = read_flow("getSettingsFlow", &body);
        assert_eq!(
            (got.id.as_str(), state(&got.state)),
            (id.as_str(), "show_form")
        );
        let (status, e, _) = generic(
            "getSettingsFlow (no session)",
            frontend_api::get_settings_flow(&public, &id, None, None).await,
        );
        assert_eq!(status, 401);
        assert_eq!(e.id.as_deref(), Some("session_inactive"));
        create(&admin, "other@example.com").await;
        let other = login(&app, &public, "other@example.com", PASSWORD).await;
        let (status, e, _) = generic(
            "getSettingsFlow (another identity)",
            frontend_api::get_settings_flow(&public, &id, Some(&other), None).await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_identity_mismatch"));
        let (status, _, _) = generic(
            "getSettingsFlow (unknown)",
            frontend_api::get_settings_flow(&public, &uuid(), Some(&token), None).await,
        );
        assert_eq!(status, 404);

        // updateSettingsFlow, profile: an invalid trait is 400 + the flow, read through the SDK.
        let (status, body) = err(
            "updateSettingsFlow (invalid email)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                profile(json!({"email": "not an email"})),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let invalid: models::SettingsFlow = read_flow("updateSettingsFlow (invalid)", &body);
        assert_eq!(invalid.id, id);
        assert!(
            !node_messages(&invalid.ui, "traits.email").is_empty(),
            "{body}"
        );
        // Another identity's session cannot use the flow.
        let (status, e, _) = generic(
            "updateSettingsFlow (another identity)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                profile(json!({"email": "hijack@example.com"})),
                Some(&other),
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_identity_mismatch"));

        // Success: saved, though the SDK cannot read the answer.
        assert_sdk_cannot_read(
            "updateSettingsFlow (profile)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                profile(json!({"email": "sandy@example.com"})),
                Some(&token),
                None,
            )
            .await,
            NODE_TYPE,
        );
        let now = get_identity(&admin, &sandra.id).await;
        assert_eq!(now.traits, Some(json!({"email": "sandy@example.com"})));
        let va = &now.verifiable_addresses.as_ref().unwrap()[0];
        assert_eq!(
            (va.value.as_str(), va.verified),
            ("sandy@example.com", false)
        );
        let mails = mail.wait_for("sandy@example.com", 1).await;
        assert_eq!(mails[0].subject, "Please verify your email address");
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/settings/flows?id={id}")))
                .header("X-Session-Token", &token),
        )
        .await;
        let saved: models::SettingsFlow = read_flow("getSettingsFlow (saved)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            value(input(&saved.ui, "traits.email")),
            json!("sandy@example.com")
        );

        // The same operation over plain HTTP: 200 + the flow, `continue_with` pointing at the
        // verification flow for the new address.
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/settings?flow={id}")))
                .header("X-Session-Token", &token)
                .json(&json!({"method": "profile", "traits": {"email": "sandra@example.com"}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: models::SettingsFlow = read_flow("updateSettingsFlow (profile, HTTP)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            saved.identity.traits,
            Some(json!({"email": "sandra@example.com"}))
        );
        match saved.continue_with.as_deref() {
            Some([models::ContinueWith::ShowVerificationUi(v)]) => {
                assert_eq!(v.flow.verifiable_address, "sandra@example.com");
                let (status, _) = send(reqwest::Client::new().get(app.public(&format!(
                    "/self-service/verification/flows?id={}",
                    v.flow.id
                ))))
                .await;
                assert_eq!(status, 200, "the verification flow exists");
            }
            other => panic!("expected show_verification_ui, got {other:?}"),
        }
        mail.wait_for("sandra@example.com", 1).await;

        // updateSettingsFlow, password: the same password is 400 (4000039) through the SDK.
        let (status, body) = err(
            "updateSettingsFlow (same password)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                password(PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let same: models::SettingsFlow = read_flow("updateSettingsFlow (same password)", &body);
        assert_eq!(node_messages(&same.ui, "password"), [4000039]);
        assert_sdk_cannot_read(
            "updateSettingsFlow (password)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
            NODE_TYPE,
        );
        assert_eq!(
            try_login(&app, &public, "sandra@example.com", PASSWORD).await,
            Err(400)
        );
        login(&app, &public, "sandra@example.com", NEW_PASSWORD).await;
        // Over plain HTTP.
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/settings?flow={id}")))
                .header("X-Session-Token", &token)
                .json(&json!({"method": "password", "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: models::SettingsFlow = read_flow("updateSettingsFlow (password, HTTP)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            value(input(&saved.ui, "password")),
            Value::Null,
            "secrets cleared"
        );
        login(&app, &public, "sandra@example.com", PASSWORD).await;
        whoami(&public, &token).await;

        // Two hours later: the flow has expired (410, pointing at a new flow) and the session is no
        // longer privileged for a password change (403 session_refresh_required).
        app.registry.clock.advance(chrono::Duration::hours(2));
        let (status, e, raw) = generic(
            "updateSettingsFlow (expired)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 410);
        assert_eq!(e.id.as_deref(), Some("self_service_flow_expired"));
        let fresh = raw["use_flow_id"]
            .as_str()
            .expect("use_flow_id")
            .to_string();
        let (status, e, raw) = generic(
            "updateSettingsFlow (not privileged)",
            frontend_api::update_settings_flow(
                &public,
                &fresh,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("session_refresh_required"));
        assert!(raw["redirect_browser_to"]
            .as_str()
            .unwrap()
            .starts_with(&app.public("/self-service/login/browser?refresh=true")));
    }
);

// ---------------------------------------------------------------------------------------------
// Recovery, native.

both_backends_with_mail!(
    sdk_recovery_native,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let rita = create(&admin, "rita@example.com").await;

        // createNativeRecoveryFlow.
        assert_sdk_cannot_read(
            "createNativeRecoveryFlow",
            frontend_api::create_native_recovery_flow(&public).await,
            NODE_TYPE,
        );
        let (status, body) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::RecoveryFlow = read_flow("createNativeRecoveryFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("api", "choose_method")
        );
        assert_eq!(
            flow.ui.action,
            app.public(&format!("/self-service/recovery?flow={}", flow.id))
        );
        assert_eq!(input(&flow.ui, "email").required, Some(true));
        assert_eq!(value(input(&flow.ui, "method")), json!("code"));
        assert!(flow.continue_with.as_ref().is_none_or(|c| c.is_empty()));
        let id = flow.id.clone();

        // getRecoveryFlow.
        assert_sdk_cannot_read(
            "getRecoveryFlow",
            frontend_api::get_recovery_flow(&public, &id, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::RecoveryFlow = read_flow("getRecoveryFlow", &body);
        assert_eq!(
            (got.id.as_str(), state(&got.state)),
            (id.as_str(), "choose_method")
        );
        let (status, _, _) = generic(
            "getRecoveryFlow (unknown)",
            frontend_api::get_recovery_flow(&public, &uuid(), None).await,
        );
        assert_eq!(status, 404);

        // updateRecoveryFlow with the address: the code is mailed.
        let (status, body) = err(
            "updateRecoveryFlow (invalid email)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_email("not-an-address", None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let invalid: models::RecoveryFlow = read_flow("updateRecoveryFlow (invalid)", &body);
        assert_eq!(node_messages(&invalid.ui, "email"), [4000040]);
        assert_sdk_cannot_read(
            "updateRecoveryFlow (email)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_email("RITA@example.com", None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let mails = mail.wait_for("rita@example.com", 1).await;
        assert_eq!(mails[0].subject, "Recover access to your account");
        let code = six_digits(&mails[0].body);
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        let sent: models::RecoveryFlow = read_flow("getRecoveryFlow (sent)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        assert_eq!(messages(&sent.ui), [1060003]);
        assert_eq!(input(&sent.ui, "code").maxlength, Some(6));
        // The same step over HTTP, for an unknown address: the same answer, and no mail.
        let (_, other) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!(
                    "/self-service/recovery?flow={}",
                    other["id"].as_str().unwrap()
                )))
                .json(&json!({"method": "code", "email": "nobody@example.com"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let unknown: models::RecoveryFlow = read_flow("updateRecoveryFlow (email, HTTP)", &body);
        assert_eq!(state(&unknown.state), "sent_email");
        assert_eq!(messages(&unknown.ui), [1060003]);
        let queued = ok(
            "listCourierMessages (recipient)",
            courier_api::list_courier_messages(
                &admin,
                None,
                None,
                None,
                Some("nobody@example.com"),
            )
            .await,
        );
        assert!(queued.is_empty(), "{queued:?}");

        // A wrong code: 200 + the flow with 4060006 (the form again, as Kratos answers), which
        // the SDK cannot read; the flow is read over HTTP.
        assert_sdk_cannot_read(
            "updateRecoveryFlow (wrong code)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_code(wrong(&code), None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let bad: models::RecoveryFlow = read_flow("updateRecoveryFlow (wrong code)", &body);
        assert_eq!(messages(&bad.ui), [4060006]);

        // The right code: recovered, but the SDK cannot read the answer (no nodes are left; the
        // `continue_with` items fail) — so it never sees the session token.
        assert_sdk_cannot_read(
            "updateRecoveryFlow (code)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_code(&code, None),
                None,
                None,
            )
            .await,
            ACTION,
        );
        let sessions = ok(
            "listIdentitySessions",
            identity_api::list_identity_sessions(&admin, &rita.id, None, None, None, None, None)
                .await,
        );
        assert_eq!(sessions.len(), 1, "the recovery issued a session");
        assert_eq!(
            first_method(&sessions[0]),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        let passed: models::RecoveryFlow = read_flow("getRecoveryFlow (passed)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        // The code cannot be used twice: 400 + the flow with 4060001.
        let (status, body) = err(
            "updateRecoveryFlow (again)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_code(&code, None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let again: models::RecoveryFlow = read_flow("updateRecoveryFlow (again)", &body);
        assert_eq!(messages(&again.ui), [4060001]);

        // The whole recovery over plain HTTP, to see the answer the SDK cannot read.
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        let url = app.public(&format!(
            "/self-service/recovery?flow={}",
            flow["id"].as_str().unwrap()
        ));
        let (status, _) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "email": "rita@example.com"})),
        )
        .await;
        assert_eq!(status, 200);
        let code = nth_code(&mail, "rita@example.com", 2).await;
        let (status, body) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "code": code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::RecoveryFlow = read_flow("updateRecoveryFlow (code, HTTP)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert!(passed.ui.nodes.is_empty());
        let (token, settings_id) = match passed.continue_with.as_deref() {
            Some(
                [models::ContinueWith::SetOrySessionToken(t), models::ContinueWith::ShowSettingsUi(s)],
            ) => (t.ory_session_token.clone(), s.flow.id.clone()),
            other => panic!("expected set_ory_session_token + show_settings_ui, got {other:?}"),
        };
        let me = whoami(&public, &token).await;
        assert_eq!(me.identity.as_ref().unwrap().id, rita.id);
        assert_eq!(
            first_method(&me),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );

        // Continue in the settings flow with the SDK: a new password.
        assert_sdk_cannot_read(
            "getSettingsFlow (after recovery)",
            frontend_api::get_settings_flow(&public, &settings_id, Some(&token), None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/settings/flows?id={settings_id}")))
                .header("X-Session-Token", &token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let settings: models::SettingsFlow = read_flow("getSettingsFlow (after recovery)", &body);
        assert_eq!(settings.identity.id, rita.id);
        assert_eq!(messages(&settings.ui), [1060001]);
        assert_sdk_cannot_read(
            "updateSettingsFlow (password after recovery)",
            frontend_api::update_settings_flow(
                &public,
                &settings_id,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
            NODE_TYPE,
        );
        login(&app, &public, "rita@example.com", NEW_PASSWORD).await;
    }
);

// ---------------------------------------------------------------------------------------------
// Verification, native.

both_backends_with_mail!(
    sdk_verification_native,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let vera = create(&admin, "vera@example.com").await;
        let va = &vera.verifiable_addresses.as_ref().unwrap()[0];
        assert_eq!((va.status.as_str(), va.verified), ("pending", false));

        // createNativeVerificationFlow.
        assert_sdk_cannot_read(
            "createNativeVerificationFlow",
            frontend_api::create_native_verification_flow(&public, None).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic(
            "createNativeVerificationFlow (return_to not allowed)",
            frontend_api::create_native_verification_flow(
                &public,
                Some("https://evil.example.com/"),
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(
            e.id.as_deref(),
            Some("self_service_flow_return_to_forbidden")
        );
        let (status, body) =
            send(reqwest::Client::new().get(app.public("/self-service/verification/api"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::VerificationFlow = read_flow("createNativeVerificationFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("api", "choose_method")
        );
        assert_eq!(
            flow.ui.action,
            app.public(&format!("/self-service/verification?flow={}", flow.id))
        );
        assert_eq!(input(&flow.ui, "email").required, Some(true));
        let id = flow.id.clone();

        // getVerificationFlow.
        assert_sdk_cannot_read(
            "getVerificationFlow",
            frontend_api::get_verification_flow(&public, &id, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::VerificationFlow = read_flow("getVerificationFlow", &body);
        assert_eq!(got.id, id);
        let (status, _, _) = generic(
            "getVerificationFlow (unknown)",
            frontend_api::get_verification_flow(&public, &uuid(), None).await,
        );
        assert_eq!(status, 404);

        // updateVerificationFlow with the address.
        assert_sdk_cannot_read(
            "updateVerificationFlow (email)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_email("vera@example.com", None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let mails = mail.wait_for("vera@example.com", 1).await;
        assert_eq!(mails[0].subject, "Please verify your email address");
        let code = six_digits(&mails[0].body);
        let va = &get_identity(&admin, &vera.id)
            .await
            .verifiable_addresses
            .unwrap()[0];
        assert_eq!((va.status.as_str(), va.verified), ("sent", false));
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        let sent: models::VerificationFlow = read_flow("getVerificationFlow (sent)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        assert_eq!(messages(&sent.ui), [1080003]);

        // A wrong code: 200 + the flow with 4070006 (the form again), which the SDK cannot read.
        assert_sdk_cannot_read(
            "updateVerificationFlow (wrong code)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_code(wrong(&code), None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let bad: models::VerificationFlow = read_flow("updateVerificationFlow (wrong)", &body);
        assert_eq!(messages(&bad.ui), [4070006]);

        // The right code: verified.
        assert_sdk_cannot_read(
            "updateVerificationFlow (code)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_code(&code, None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let va = &get_identity(&admin, &vera.id)
            .await
            .verifiable_addresses
            .unwrap()[0];
        assert_eq!((va.status.as_str(), va.verified), ("completed", true));
        assert!(va.verified_at.is_some());
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        let passed: models::VerificationFlow = read_flow("getVerificationFlow (passed)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert_eq!(messages(&passed.ui), [1080002]);
        let (status, body) = err(
            "updateVerificationFlow (again)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_code(&code, None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let again: models::VerificationFlow = read_flow("updateVerificationFlow (again)", &body);
        assert_eq!(messages(&again.ui), [4070002]);

        // The same two steps over plain HTTP, for a second identity.
        let walt = create(&admin, "walt@example.com").await;
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/verification/api"))).await;
        let url = app.public(&format!(
            "/self-service/verification?flow={}",
            flow["id"].as_str().unwrap()
        ));
        let (status, body) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "email": "walt@example.com"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let sent: models::VerificationFlow =
            read_flow("updateVerificationFlow (email, HTTP)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        assert_eq!(messages(&sent.ui), [1080003]);
        let code = nth_code(&mail, "walt@example.com", 1).await;
        let (status, body) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "code": code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::VerificationFlow =
            read_flow("updateVerificationFlow (code, HTTP)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert_eq!(messages(&passed.ui), [1080002]);
        assert!(
            get_identity(&admin, &walt.id)
                .await
                .verifiable_addresses
                .unwrap()[0]
                .verified
        );
    }
);

// ---------------------------------------------------------------------------------------------
// Browser flows (SPA style: cookies in the client's jar, `Accept: application/json`).

both_backends_with_mail!(
    sdk_browser_settings,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let admin = admin(&app);
        let bella = create(&admin, "bella@example.com").await;
        let b = Browser::new(&app);

        // Without a session: 401 session_inactive through the SDK.
        let (status, e, _) = generic(
            "createBrowserSettingsFlow (no session)",
            frontend_api::create_browser_settings_flow(&b.sdk, None, None).await,
        );
        assert_eq!(status, 401);
        assert_eq!(e.id.as_deref(), Some("session_inactive"));

        browser_login(&app, &b, "bella@example.com").await;
        assert_sdk_cannot_read(
            "createBrowserSettingsFlow",
            frontend_api::create_browser_settings_flow(&b.sdk, None, None).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic(
            "createBrowserSettingsFlow (return_to not allowed)",
            frontend_api::create_browser_settings_flow(
                &b.sdk,
                Some("https://evil.example.com/"),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(
            e.id.as_deref(),
            Some("self_service_flow_return_to_forbidden")
        );
        let (status, body) = send(b.http().get(app.public("/self-service/settings/browser"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::SettingsFlow = read_flow("createBrowserSettingsFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("browser", "show_form")
        );
        assert_eq!(flow.identity.id, bella.id);
        let token = csrf(&flow.ui);
        let id = flow.id.clone();

        // getSettingsFlow: with the jar's cookies, and with the cookies forwarded by a server-side
        // app through the SDK's `cookie` parameter.
        assert_sdk_cannot_read(
            "getSettingsFlow (browser)",
            frontend_api::get_settings_flow(&b.sdk, &id, None, None).await,
            NODE_TYPE,
        );
        let cookie = b.cookie_header(&app);
        assert!(cookie.contains("ory_kratos_session="), "{cookie}");
        assert_sdk_cannot_read(
            "getSettingsFlow (forwarded cookie)",
            frontend_api::get_settings_flow(&public(&app), &id, None, Some(&cookie)).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/settings/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::SettingsFlow = read_flow("getSettingsFlow (browser)", &body);
        assert_eq!(got.id, id);

        // updateSettingsFlow needs the anti-CSRF token in the body.
        let (status, e, _) = generic(
            "updateSettingsFlow (no csrf_token)",
            frontend_api::update_settings_flow(
                &b.sdk,
                &id,
                profile(json!({"email": "bea@example.com"})),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));
        assert_sdk_cannot_read(
            "updateSettingsFlow (browser profile)",
            frontend_api::update_settings_flow(
                &b.sdk,
                &id,
                profile_csrf(json!({"email": "bea@example.com"}), &token),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        assert_eq!(
            get_identity(&admin, &bella.id).await.traits,
            Some(json!({"email": "bea@example.com"}))
        );
        assert_sdk_cannot_read(
            "updateSettingsFlow (browser password, forwarded cookie)",
            frontend_api::update_settings_flow(
                &public(&app),
                &id,
                password(NEW_PASSWORD, Some(&token)),
                None,
                Some(&cookie),
            )
            .await,
            NODE_TYPE,
        );
        login(&app, &public(&app), "bea@example.com", NEW_PASSWORD).await;
        // Over plain HTTP: 200 + the flow for a JSON browser request.
        let (status, body) = send(
            b.http()
                .post(app.public(&format!("/self-service/settings?flow={id}")))
                .json(
                    &json!({"method": "profile", "traits": {"email": "bella@example.com"},
                              "csrf_token": token}),
                ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: models::SettingsFlow = read_flow("updateSettingsFlow (browser, HTTP)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            saved.identity.traits,
            Some(json!({"email": "bella@example.com"}))
        );
    }
);

both_backends_with_mail!(
    sdk_browser_recovery,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let admin = admin(&app);
        let rex = create(&admin, "rex@example.com").await;
        let b = Browser::new(&app);

        assert_sdk_cannot_read(
            "createBrowserRecoveryFlow",
            frontend_api::create_browser_recovery_flow(&b.sdk, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(b.http().get(app.public("/self-service/recovery/browser"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::RecoveryFlow = read_flow("createBrowserRecoveryFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("browser", "choose_method")
        );
        let token = csrf(&flow.ui);
        let id = flow.id.clone();

        // getRecoveryFlow: only the browser holding the anti-CSRF cookie may read it.
        assert_sdk_cannot_read(
            "getRecoveryFlow (browser)",
            frontend_api::get_recovery_flow(&b.sdk, &id, None).await,
            NODE_TYPE,
        );
        assert_sdk_cannot_read(
            "getRecoveryFlow (forwarded cookie)",
            frontend_api::get_recovery_flow(&public(&app), &id, Some(&b.cookie_header(&app))).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic(
            "getRecoveryFlow (no cookie)",
            frontend_api::get_recovery_flow(&public(&app), &id, None).await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));

        // updateRecoveryFlow: address, then the code from the email.
        let (status, e, _) = generic(
            "updateRecoveryFlow (no csrf_token)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &id,
                recovery_email("rex@example.com", None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));
        assert_sdk_cannot_read(
            "updateRecoveryFlow (browser email)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &id,
                recovery_email("rex@example.com", Some(&token)),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let code = nth_code(&mail, "rex@example.com", 1).await;
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let sent: models::RecoveryFlow = read_flow("getRecoveryFlow (browser, sent)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        let token = csrf(&sent.ui);
        // Success for a JSON browser request is Kratos's 422 browser_location_change_required
        // towards the settings UI, with the session cookie: an error answer the SDK reads.
        let (status, e, raw) = generic(
            "updateRecoveryFlow (browser code)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &id,
                recovery_code(&code, Some(&token)),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 422);
        assert_eq!(e.id.as_deref(), Some("browser_location_change_required"));
        let to = raw["redirect_browser_to"].as_str().unwrap().to_string();
        assert!(
            to.starts_with("https://www.ory.sh/kratos/docs/fallback/settings?flow="),
            "{to}"
        );
        let settings_id = to.split("flow=").nth(1).unwrap().to_string();
        let me = ok(
            "toSession (browser)",
            frontend_api::to_session(&b.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.as_ref().unwrap().id, rex.id);
        assert_eq!(
            first_method(&me),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );

        // Continue in the settings flow.
        assert_sdk_cannot_read(
            "getSettingsFlow (browser, after recovery)",
            frontend_api::get_settings_flow(&b.sdk, &settings_id, None, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/settings/flows?id={settings_id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let settings: models::SettingsFlow = read_flow("getSettingsFlow (after recovery)", &body);
        assert_eq!(messages(&settings.ui), [1060001]);
        assert_sdk_cannot_read(
            "updateSettingsFlow (browser password after recovery)",
            frontend_api::update_settings_flow(
                &b.sdk,
                &settings_id,
                password(NEW_PASSWORD, Some(&csrf(&settings.ui))),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        login(&app, &public(&app), "rex@example.com", NEW_PASSWORD).await;

        // The same code submission over plain HTTP, on a second browser flow.
        let b2 = Browser::new(&app);
        let (_, flow) = send(b2.http().get(app.public("/self-service/recovery/browser"))).await;
        let flow: models::RecoveryFlow = read_flow("createBrowserRecoveryFlow (2)", &flow);
        let url = app.public(&format!("/self-service/recovery?flow={}", flow.id));
        let (status, body) = send(b2.http().post(&url).json(
            &json!({"method": "code", "email": "rex@example.com", "csrf_token": csrf(&flow.ui)}),
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        let sent: models::RecoveryFlow =
            read_flow("updateRecoveryFlow (browser email, HTTP)", &body);
        assert_eq!(messages(&sent.ui), [1060003]);
        let code = nth_code(&mail, "rex@example.com", 2).await;
        let res = b2
            .http()
            .post(&url)
            .json(&json!({"method": "code", "code": code, "csrf_token": csrf(&sent.ui)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ory_kratos_session=")));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["id"], "browser_location_change_required");
        assert!(body["redirect_browser_to"]
            .as_str()
            .unwrap()
            .contains("/settings?flow="));
        let me = ok(
            "toSession (browser 2)",
            frontend_api::to_session(&b2.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.unwrap().id, rex.id);
    }
);

both_backends_with_mail!(
    sdk_browser_verification,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let admin = admin(&app);
        let vic = create(&admin, "vic@example.com").await;
        let b = Browser::new(&app);

        assert_sdk_cannot_read(
            "createBrowserVerificationFlow",
            frontend_api::create_browser_verification_flow(&b.sdk, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            b.http()
                .get(app.public("/self-service/verification/browser")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow: models::VerificationFlow = read_flow("createBrowserVerificationFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("browser", "choose_method")
        );
        let token = csrf(&flow.ui);
        let id = flow.id.clone();

        assert_sdk_cannot_read(
            "getVerificationFlow (browser)",
            frontend_api::get_verification_flow(&b.sdk, &id, None).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic(
            "getVerificationFlow (no cookie)",
            frontend_api::get_verification_flow(&public(&app), &id, None).await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));

        let (status, e, _) = generic(
            "updateVerificationFlow (no csrf_token)",
            frontend_api::update_verification_flow(
                &b.sdk,
                &id,
                verification_email("vic@example.com", None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));
        assert_sdk_cannot_read(
            "updateVerificationFlow (browser email)",
            frontend_api::update_verification_flow(
                &b.sdk,
                &id,
                verification_email("vic@example.com", Some(&token)),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let code = nth_code(&mail, "vic@example.com", 1).await;
        assert_sdk_cannot_read(
            "updateVerificationFlow (browser code)",
            frontend_api::update_verification_flow(
                &b.sdk,
                &id,
                verification_code(&code, Some(&token)),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let va = &get_identity(&admin, &vic.id)
            .await
            .verifiable_addresses
            .unwrap()[0];
        assert!(va.verified);
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::VerificationFlow = read_flow("getVerificationFlow (browser)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert_eq!(messages(&passed.ui), [1080002]);
    }
);

// ---------------------------------------------------------------------------------------------
// Admin recovery: codes and links.

both_backends_with_mail!(
    sdk_admin_recovery_code,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let ada = create(&admin, "ada@example.com").await;
        let code_for = |flow_type: Option<&str>, expires_in: Option<&str>| {
            let mut b = models::CreateRecoveryCodeForIdentityBody::new(ada.id.clone());
            b.flow_type = flow_type.map(str::to_string);
            b.expires_in = expires_in.map(str::to_string);
            let admin = admin.clone();
            async move { identity_api::create_recovery_code_for_identity(&admin, Some(b)).await }
        };

        // An API flow: the code recovers the account, and the session token works.
        let before = chrono::Utc::now();
        let rc = ok(
            "createRecoveryCodeForIdentity (api)",
            code_for(Some("api"), Some("10m")).await,
        );
        assert!(
            rc.recovery_code.len() == 6 && rc.recovery_code.chars().all(|c| c.is_ascii_digit()),
            "{rc:?}"
        );
        assert!(
            rc.recovery_link
                .starts_with("https://www.ory.sh/kratos/docs/fallback/recovery?flow="),
            "{rc:?}"
        );
        let expires = chrono::DateTime::parse_from_rfc3339(rc.expires_at.as_deref().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let lifespan = expires - before;
        assert!(
            lifespan > chrono::Duration::minutes(9) && lifespan <= chrono::Duration::minutes(11),
            "{rc:?}"
        );
        let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
        assert_sdk_cannot_read(
            "getRecoveryFlow (admin code)",
            frontend_api::get_recovery_flow(&public, &flow_id, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={flow_id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow: models::RecoveryFlow = read_flow("getRecoveryFlow (admin code)", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("api", "sent_email")
        );
        assert_eq!(
            input(&flow.ui, "code").r#type,
            models::ui_node_input_attributes::TypeEnum::Text
        );
        assert_sdk_cannot_read(
            "updateRecoveryFlow (admin code, wrong)",
            frontend_api::update_recovery_flow(
                &public,
                &flow_id,
                recovery_code(wrong(&rc.recovery_code), None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={flow_id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let bad: models::RecoveryFlow = read_flow("updateRecoveryFlow (admin code, wrong)", &body);
        assert_eq!(messages(&bad.ui), [4060006]);
        // Through the SDK the recovery happens but its answer (token included) cannot be read.
        assert_sdk_cannot_read(
            "updateRecoveryFlow (admin code)",
            frontend_api::update_recovery_flow(
                &public,
                &flow_id,
                recovery_code(&rc.recovery_code, None),
                None,
                None,
            )
            .await,
            ACTION,
        );
        assert_eq!(
            ok(
                "listIdentitySessions",
                identity_api::list_identity_sessions(&admin, &ada.id, None, None, None, None, None)
                    .await
            )
            .len(),
            1
        );
        // A second code, submitted over plain HTTP: the token from `continue_with` works.
        let rc = ok(
            "createRecoveryCodeForIdentity (api, 2)",
            code_for(Some("api"), None).await,
        );
        let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/recovery?flow={flow_id}")))
                .json(&json!({"method": "code", "code": rc.recovery_code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::RecoveryFlow =
            read_flow("updateRecoveryFlow (admin code, HTTP)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        let token = passed
            .continue_with
            .iter()
            .flatten()
            .find_map(|c| match c {
                models::ContinueWith::SetOrySessionToken(t) => Some(t.ory_session_token.clone()),
                _ => None,
            })
            .expect("set_ory_session_token");
        let me = whoami(&public, &token).await;
        assert_eq!(me.identity.as_ref().unwrap().id, ada.id);
        assert_eq!(
            first_method(&me),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );
        // The code is spent.
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/recovery?flow={flow_id}")))
                .json(&json!({"method": "code", "code": rc.recovery_code})),
        )
        .await;
        assert_eq!(status, 400, "{body}");

        // The default flow type is browser: the link is the recovery UI, and a browser submits the
        // code with any anti-CSRF cookie and its token (here: from a fresh browser recovery flow).
        let rc = ok(
            "createRecoveryCodeForIdentity (browser)",
            code_for(None, None).await,
        );
        let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
        let b = Browser::new(&app);
        let (_, own) = send(b.http().get(app.public("/self-service/recovery/browser"))).await;
        let own: models::RecoveryFlow = read_flow("createBrowserRecoveryFlow", &own);
        let (status, e, raw) = generic(
            "updateRecoveryFlow (admin code, browser)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &flow_id,
                recovery_code(&rc.recovery_code, Some(&csrf(&own.ui))),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 422, "{raw}");
        assert_eq!(e.id.as_deref(), Some("browser_location_change_required"));
        let me = ok(
            "toSession (browser)",
            frontend_api::to_session(&b.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.unwrap().id, ada.id);

        // Errors, through the SDK.
        let (status, _, _) = generic(
            "createRecoveryCodeForIdentity (unknown identity)",
            identity_api::create_recovery_code_for_identity(
                &admin,
                Some(models::CreateRecoveryCodeForIdentityBody::new(uuid())),
            )
            .await,
        );
        assert_eq!(status, 404);
        let (status, _, _) = generic(
            "createRecoveryCodeForIdentity (bad identity id)",
            identity_api::create_recovery_code_for_identity(
                &admin,
                Some(models::CreateRecoveryCodeForIdentityBody::new(
                    "nope".into(),
                )),
            )
            .await,
        );
        assert_eq!(status, 400);
        let (status, _, _) = generic(
            "createRecoveryCodeForIdentity (bad expires_in)",
            code_for(None, Some("soon")).await,
        );
        assert_eq!(status, 400);
        let (status, _, _) = generic(
            "createRecoveryCodeForIdentity (bad flow_type)",
            code_for(Some("bogus"), None).await,
        );
        assert_eq!(status, 400);
    }
);

both_backends_with_mail!(
    sdk_admin_recovery_link,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let admin = admin(&app);
        let lin = create(&admin, "lin@example.com").await;
        let link_for = |return_to: Option<&'static str>, expires_in: Option<&str>| {
            let mut b = models::CreateRecoveryLinkForIdentityBody::new(lin.id.clone());
            b.expires_in = expires_in.map(str::to_string);
            let admin = admin.clone();
            async move {
                identity_api::create_recovery_link_for_identity(&admin, return_to, Some(b)).await
            }
        };

        let before = chrono::Utc::now();
        let rl = ok(
            "createRecoveryLinkForIdentity",
            link_for(None, Some("10m")).await,
        );
        let prefix = app.public("/self-service/recovery?flow=");
        assert!(rl.recovery_link.starts_with(&prefix), "{rl:?}");
        assert!(rl.recovery_link.contains("&token="), "{rl:?}");
        let expires = chrono::DateTime::parse_from_rfc3339(rl.expires_at.as_deref().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let lifespan = expires - before;
        assert!(
            lifespan > chrono::Duration::minutes(9) && lifespan <= chrono::Duration::minutes(11),
            "{rl:?}"
        );

        // A cookie-keeping browser opens the link: logged in, sent to the settings UI.
        let browser = crate::helpers::new_client();
        let res = browser.get(&rl.recovery_link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with("https://www.ory.sh/kratos/docs/fallback/settings?flow="),
            "{location}"
        );
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ory_kratos_session=")));
        let (status, session) = send(browser.get(app.public("/sessions/whoami"))).await;
        assert_eq!(status, 200);
        let session: models::Session = model("toSession (cookie)", &session);
        assert_eq!(session.identity.as_ref().unwrap().id, lin.id);
        assert_eq!(
            first_method(&session),
            models::session_authentication_method::MethodEnum::LinkRecovery
        );
        // The link works once: the second browser is sent back to the recovery UI.
        let res = crate::helpers::new_client()
            .get(&rl.recovery_link)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://www.ory.sh/kratos/docs/fallback/recovery?flow="));

        // The same link through the SDK browser configuration: the session is read with the SDK.
        let rl = ok(
            "createRecoveryLinkForIdentity (return_to)",
            link_for(Some("https://allowed.example.com/welcome"), None).await,
        );
        let b = Browser::new(&app);
        let res = b.http().get(&rl.recovery_link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let me = ok(
            "toSession (recovered browser)",
            frontend_api::to_session(&b.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.unwrap().id, lin.id);

        // Errors, through the SDK.
        let (status, e, _) = generic(
            "createRecoveryLinkForIdentity (unknown identity)",
            identity_api::create_recovery_link_for_identity(
                &admin,
                None,
                Some(models::CreateRecoveryLinkForIdentityBody::new(uuid())),
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(
            e.reason.as_deref(),
            Some("The requested identity id does not exist.")
        );
        let (status, _, _) = generic(
            "createRecoveryLinkForIdentity (bad expires_in)",
            link_for(None, Some("-1h")).await,
        );
        assert_eq!(status, 400);
        let (status, _, _) = generic(
            "createRecoveryLinkForIdentity (return_to not allowed)",
            link_for(Some("https://evil.example.com/"), None).await,
        );
        assert_eq!(status, 400);
    }
);

// ---------------------------------------------------------------------------------------------
// Courier messages.

both_backends_with_mail!(
    sdk_courier_messages,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let people = ["ann@example.com", "ben@example.com", "cat@example.com"];
        for p in people {
            create(&admin, p).await;
        }
        // One verification mail each (ann, ben, cat), then a recovery mail for ann, a second
        // apart so that the newest-first order is known.
        for p in people {
            let (_, flow) =
                send(reqwest::Client::new().get(app.public("/self-service/verification/api")))
                    .await;
            assert_sdk_cannot_read(
                "updateVerificationFlow (email)",
                frontend_api::update_verification_flow(
                    &public,
                    flow["id"].as_str().unwrap(),
                    verification_email(p, None),
                    None,
                    None,
                )
                .await,
                NODE_TYPE,
            );
            app.registry.clock.advance(chrono::Duration::seconds(1));
        }
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        assert_sdk_cannot_read(
            "updateRecoveryFlow (email)",
            frontend_api::update_recovery_flow(
                &public,
                flow["id"].as_str().unwrap(),
                recovery_email("ann@example.com", None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let ann_mails = mail.wait_for("ann@example.com", 2).await;
        mail.wait_for("ben@example.com", 1).await;
        mail.wait_for("cat@example.com", 1).await;

        // listCourierMessages: everything, newest first, "sent" once delivered.
        let mut all = Vec::new();
        for _ in 0..200 {
            all = ok(
                "listCourierMessages",
                courier_api::list_courier_messages(&admin, None, None, None, None).await,
            );
            if all.len() == 4 && all.iter().all(|m| m.status == Status::Sent) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            all.iter().map(|m| m.recipient.as_str()).collect::<Vec<_>>(),
            [
                "ann@example.com",
                "cat@example.com",
                "ben@example.com",
                "ann@example.com"
            ]
        );
        use models::message::TemplateTypeEnum as T;
        assert_eq!(
            all.iter().map(|m| m.template_type).collect::<Vec<_>>(),
            [
                T::RecoveryCodeValid,
                T::VerificationCodeValid,
                T::VerificationCodeValid,
                T::VerificationCodeValid
            ]
        );
        for m in &all {
            assert_eq!(m.status, Status::Sent, "{m:?}");
            assert_eq!(m.r#type, models::CourierMessageType::Email);
            assert_eq!(m.send_count, 1, "{m:?}");
            assert!(m.dispatches.is_none(), "the list has no dispatches");
            chrono::DateTime::parse_from_rfc3339(&m.created_at).unwrap();
            chrono::DateTime::parse_from_rfc3339(&m.updated_at).unwrap();
        }
        // Subjects are shown in dev mode; the bodies of sent messages are redacted in the database
        // (see DIFFERENCES.md), so the codes that were delivered are nowhere in them.
        assert_eq!(all[0].subject, "Recover access to your account");
        for m in &all {
            assert_eq!(
                m.body,
                ostiary::persistence::courier::REDACTED_BODY,
                "{m:?}"
            );
        }
        for delivered in &ann_mails {
            let code = six_digits(&delivered.body);
            assert!(all.iter().all(|m| !m.body.contains(&code)));
        }

        // Filters.
        let anns = ok(
            "listCourierMessages (recipient)",
            courier_api::list_courier_messages(&admin, None, None, None, Some("ann@example.com"))
                .await,
        );
        assert_eq!(
            anns.iter().map(|m| &m.id).collect::<Vec<_>>(),
            [&all[0].id, &all[3].id]
        );
        let sent = ok(
            "listCourierMessages (status=sent)",
            courier_api::list_courier_messages(&admin, None, None, Some(Status::Sent), None).await,
        );
        assert_eq!(sent, all);
        for s in [Status::Queued, Status::Processing, Status::Abandoned] {
            let none = ok(
                "listCourierMessages (status)",
                courier_api::list_courier_messages(&admin, None, None, Some(s), None).await,
            );
            assert!(none.is_empty(), "{s}: {none:?}");
        }
        let both = ok(
            "listCourierMessages (status and recipient)",
            courier_api::list_courier_messages(
                &admin,
                None,
                None,
                Some(Status::Sent),
                Some("ben@example.com"),
            )
            .await,
        );
        assert_eq!(both.iter().map(|m| &m.id).collect::<Vec<_>>(), [&all[2].id]);
        let nobody = ok(
            "listCourierMessages (unknown recipient)",
            courier_api::list_courier_messages(&admin, None, None, None, Some("zed@example.com"))
                .await,
        );
        assert!(nobody.is_empty());

        // Pagination: page_size through the SDK, page_token from the `Link` header (HTTP).
        let page = ok(
            "listCourierMessages (page_size)",
            courier_api::list_courier_messages(&admin, Some(3), None, None, None).await,
        );
        assert_eq!(page, all[..3]);
        let res = reqwest::get(app.admin("/admin/courier/messages?page_size=3"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let link = res.headers()["link"].to_str().unwrap().to_string();
        let next = link
            .split(',')
            .find(|p| p.contains("rel=\"next\""))
            .expect("a next page");
        let target = next
            .trim()
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap();
        let token = url::Url::parse(target)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "page_token")
            .map(|(_, v)| v.into_owned())
            .expect("page_token");
        let page2 = ok(
            "listCourierMessages (page_token)",
            courier_api::list_courier_messages(&admin, Some(3), Some(&token), None, None).await,
        );
        assert_eq!(page2, all[3..]);
        let res = reqwest::get(app.admin(&format!(
            "/admin/courier/messages?page_size=3&page_token={}",
            urlencoding(&token)
        )))
        .await
        .unwrap();
        assert!(
            !res.headers()["link"]
                .to_str()
                .unwrap()
                .contains("rel=\"next\""),
            "the last page has no next"
        );
        let (status, _, _) = generic(
            "listCourierMessages (bad page_token)",
            courier_api::list_courier_messages(&admin, None, Some("not-a-token"), None, None).await,
        );
        assert_eq!(status, 400);

        // A status the SDK cannot express: 400 over plain HTTP, in the SDK's error shape.
        let (status, body) =
            send(reqwest::Client::new().get(app.admin("/admin/courier/messages?status=bogus")))
                .await;
        assert_eq!(status, 400);
        let e: models::ErrorGeneric = model("listCourierMessages (bad status)", &body);
        assert_eq!(e.error.code, Some(400));

        // getCourierMessage: the message with its dispatches.
        for m in &all {
            let one = ok(
                "getCourierMessage",
                courier_api::get_courier_message(&admin, &m.id).await,
            );
            let dispatches = one.dispatches.clone().expect("dispatches");
            assert_eq!(dispatches.len(), 1, "{one:?}");
            assert_eq!(
                dispatches[0].status,
                models::message_dispatch::StatusEnum::Success
            );
            assert_eq!(dispatches[0].message_id, m.id);
            assert!(dispatches[0].error.is_none());
            chrono::DateTime::parse_from_rfc3339(&dispatches[0].created_at).unwrap();
            let without = models::Message {
                dispatches: None,
                ..one
            };
            assert_eq!(&without, m);
        }
        let (status, _, _) = generic(
            "getCourierMessage (unknown)",
            courier_api::get_courier_message(&admin, &uuid()).await,
        );
        assert_eq!(status, 404);
        let (status, _, _) = generic(
            "getCourierMessage (bad id)",
            courier_api::get_courier_message(&admin, "nope").await,
        );
        assert_eq!(status, 400);
    }
);

/// Percent-encode a query value (page tokens are opaque).
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Kratos behaviours an SDK user can observe, each once missed here and kept as a regression test.

async fn sqlite_app() -> (TestApp, MailServer) {
    crate::helpers::spawn_app_with_mail(crate::helpers::Backend::Sqlite, json!({})).await
}

/// Kratos keeps `continue_with` out of the stored flow (`ContinueWithItems … db:"-"` in
/// `selfservice/flow/{registration,settings}/flow.go`; the recovery flow table has no such column):
/// the items appear only in the answer to the request that produced them, so
/// `GET /self-service/recovery/flows?id=<api flow>` — public, no credentials — must never hand out
/// the `ory_session_token` the recovery issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_recovery_flow_never_shows_the_session_token() {
    let (app, mail) = sqlite_app().await;
    let (public, admin) = (public(&app), admin(&app));
    create(&admin, "leak@example.com").await;
    let (_, flow) =
        send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
    let id = flow["id"].as_str().unwrap().to_string();
    let url = app.public(&format!("/self-service/recovery?flow={id}"));
    send(
        reqwest::Client::new()
            .post(&url)
            .json(&json!({"method": "code", "email": "leak@example.com"})),
    )
    .await;
    let code = nth_code(&mail, "leak@example.com", 1).await;
    let (status, body) = send(
        reqwest::Client::new()
            .post(&url)
            .json(&json!({"method": "code", "code": code})),
    )
    .await;
    assert_eq!(status, 200);
    let token = body["continue_with"][0]["ory_session_token"]
        .as_str()
        .unwrap()
        .to_string();
    whoami(&public, &token).await;
    // A stranger reads the flow.
    let (status, body) = send(
        reqwest::Client::new().get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !body.to_string().contains(&token),
        "getRecoveryFlow hands out the session token: {body}"
    );
    assert!(
        body["continue_with"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{body}"
    );
}

/// Kratos creates the browser flow of `createRecoveryCodeForIdentity` with
/// `DangerousSkipCSRFCheck = true` (`selfservice/strategy/code/strategy_recovery_admin.go`), and
/// `getRecoveryFlow` skips the anti-CSRF check for such flows
/// (`selfservice/flow/recovery/handler.go`): whichever browser opens the recovery link can load the
/// flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_recovery_code_browser_flow_is_readable() {
    let (app, _mail) = sqlite_app().await;
    let admin = admin(&app);
    let ada = create(&admin, "ada@example.com").await;
    let rc = ok(
        "createRecoveryCodeForIdentity (browser)",
        identity_api::create_recovery_code_for_identity(
            &admin,
            Some(models::CreateRecoveryCodeForIdentityBody::new(
                ada.id.clone(),
            )),
        )
        .await,
    );
    let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
    let b = Browser::new(&app);
    let (status, body) = send(
        b.http()
            .get(app.public(&format!("/self-service/recovery/flows?id={flow_id}"))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let flow: models::RecoveryFlow = read_flow("getRecoveryFlow (admin code, browser)", &body);
    assert_eq!(
        (flow.r#type.as_str(), state(&flow.state)),
        ("browser", "sent_email")
    );
}

/// Kratos's `getSettingsFlow` checks the session and the flow's identity only — no anti-CSRF check
/// (`selfservice/flow/settings/handler.go`): a server-side app forwarding just the session cookie
/// reads the browser flow (200), and without any cookie the answer is 401 `session_inactive`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_settings_flow_checks_the_session_not_csrf() {
    let (app, _mail) = sqlite_app().await;
    let admin = admin(&app);
    create(&admin, "sid@example.com").await;
    let b = Browser::new(&app);
    browser_login(&app, &b, "sid@example.com").await;
    let (_, flow) = send(b.http().get(app.public("/self-service/settings/browser"))).await;
    let id = flow["id"].as_str().unwrap().to_string();
    let session_cookie = b
        .cookie_header(&app)
        .split("; ")
        .find(|c| c.starts_with("ory_kratos_session="))
        .unwrap()
        .to_string();
    let (status, e, _) = generic(
        "getSettingsFlow (no cookies)",
        frontend_api::get_settings_flow(&public(&app), &id, None, None).await,
    );
    assert_eq!(status, 401);
    assert_eq!(e.id.as_deref(), Some("session_inactive"));
    assert_sdk_cannot_read(
        "getSettingsFlow (session cookie only)",
        frontend_api::get_settings_flow(&public(&app), &id, None, Some(&session_cookie)).await,
        NODE_TYPE,
    );
}

/// Kratos's keyset paginator (`ory/x` `keysetpagination.Paginator.Size`) treats `page_size <= 0` as
/// the default size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courier_page_size_zero_means_the_default() {
    let (app, mail) = sqlite_app().await;
    let (public, admin) = (public(&app), admin(&app));
    for p in ["zoe@example.com", "zack@example.com"] {
        create(&admin, p).await;
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/verification/api"))).await;
        assert_sdk_cannot_read(
            "updateVerificationFlow (email)",
            frontend_api::update_verification_flow(
                &public,
                flow["id"].as_str().unwrap(),
                verification_email(p, None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        mail.wait_for(p, 1).await;
    }
    let all = ok(
        "listCourierMessages (page_size=0)",
        courier_api::list_courier_messages(&admin, Some(0), None, None, None).await,
    );
    assert_eq!(all.len(), 2, "{all:?}");
}
