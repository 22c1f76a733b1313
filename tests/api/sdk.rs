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

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};
use ory_kratos_client::apis::configuration::Configuration;
use ory_kratos_client::apis::{frontend_api, identity_api, metadata_api, Error};
use ory_kratos_client::models;
use ory_kratos_client::models::AuthenticatorAssuranceLevel as Aal;
use serde_json::{json, Value};
use std::fmt::Debug;

/// Like `both_backends!`, with a config overlay merged over the base test config.
macro_rules! both_backends_with {
    ($name:ident, $overlay:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let f = $body;
                f(
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Sqlite, $overlay)
                        .await,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if !$crate::helpers::postgres_available().await {
                    return;
                }
                let f = $body;
                f(
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Postgres, $overlay)
                        .await,
                )
                .await;
            }
        }
    };
}

/// The user agent the SDK sends by default (recorded as the session's device).
const SDK_USER_AGENT: &str = "OpenAPI-Generator/v26.2.0/rust";

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

/// Unwrap an SDK result; otherwise fail with the SDK's own complaint (HTTP status or serde error).
fn ok<T, E: Debug>(what: &str, r: Result<T, Error<E>>) -> T {
    match r {
        Ok(v) => v,
        Err(Error::ResponseError(rc)) => panic!("{what}: HTTP {} {}", rc.status, rc.content),
        Err(e) => panic!("{what}: the SDK failed: {e} ({e:?})"),
    }
}

/// The status and JSON body (Null if not JSON) of an SDK error response; anything else fails.
fn err<T: Debug, E: Debug>(what: &str, r: Result<T, Error<E>>) -> (u16, Value) {
    match r {
        Ok(v) => panic!("{what}: expected an error response, got {v:?}"),
        Err(Error::ResponseError(rc)) => (
            rc.status.as_u16(),
            serde_json::from_str(&rc.content).unwrap_or(Value::Null),
        ),
        Err(e) => panic!("{what}: expected an error response, the SDK failed: {e} ({e:?})"),
    }
}

/// An SDK error response whose body the SDK reads as its `ErrorGeneric` envelope; returns the
/// status and the inner error (whose `code` must equal the status).
fn generic<T: Debug, E: Debug>(what: &str, r: Result<T, Error<E>>) -> (u16, models::GenericError) {
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
            (status, *e.error)
        }
        Err(e) => panic!("{what}: expected an error response, the SDK failed: {e} ({e:?})"),
    }
}

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

// ---------------------------------------------------------------------------------------------
// Metadata and schemas.

both_backends!(sdk_metadata_and_schemas, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    for cfg in [&public, &admin] {
        let alive = ok("isAlive", metadata_api::is_alive(cfg).await);
        assert_eq!(alive.status, "ok");
        let ready = ok("isReady", metadata_api::is_ready(cfg).await);
        assert_eq!(ready.status, "ok");
    }
    let version = ok("getVersion", metadata_api::get_version(&admin).await);
    assert!(!version.version.is_empty());
    // `/version` is an admin route only.
    let (status, _) = err(
        "getVersion (public)",
        metadata_api::get_version(&public).await,
    );
    assert_eq!(status, 404);

    for cfg in [&public, &admin] {
        let list = ok(
            "listIdentitySchemas",
            identity_api::list_identity_schemas(cfg, None, None, None, None).await,
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, "default");
        assert!(list[0].schema["properties"]["traits"].is_object());
        let paged = ok(
            "listIdentitySchemas (page_size)",
            identity_api::list_identity_schemas(cfg, None, None, Some(10), None).await,
        );
        assert_eq!(paged, list);

        let by_id = ok(
            "getIdentitySchema",
            identity_api::get_identity_schema(cfg, "default").await,
        );
        assert_eq!(by_id, list[0].schema);
        let by_b64 = ok(
            "getIdentitySchema (base64url id)",
            identity_api::get_identity_schema(cfg, "ZGVmYXVsdA").await,
        );
        assert_eq!(by_b64, by_id);
        let (status, _) = generic(
            "getIdentitySchema (unknown)",
            identity_api::get_identity_schema(cfg, "unknown").await,
        );
        assert_eq!(status, 404);
    }
});

// ---------------------------------------------------------------------------------------------
// The identity API.

both_backends!(sdk_identity_crud, |app: TestApp| async move {
    let admin = admin(&app);
    let mut body = create_body("Alice@Example.com", Some(PASSWORD));
    body.metadata_public = Some(Some(json!({"plan": "free"})));
    body.metadata_admin = Some(Some(json!({"crm": 7})));
    body.external_id = Some("ext:alice@1".into());
    let alice = ok(
        "createIdentity",
        identity_api::create_identity(&admin, Some(body)).await,
    );
    assert_eq!(alice.schema_id, "default");
    assert!(
        alice.schema_url.starts_with(&app.public_url)
            && alice.schema_url.ends_with("/schemas/ZGVmYXVsdA"),
        "{}",
        alice.schema_url
    );
    assert_eq!(alice.state, Some(models::identity::StateEnum::Active));
    assert_eq!(alice.traits, Some(json!({"email": "Alice@Example.com"})));
    assert_eq!(alice.external_id.as_deref(), Some("ext:alice@1"));
    assert_eq!(alice.metadata_public, Some(Some(json!({"plan": "free"}))));
    assert_eq!(alice.metadata_admin, Some(Some(json!({"crm": 7}))));
    assert!(alice.created_at.is_some() && alice.updated_at.is_some());
    assert!(alice.state_changed_at.is_some());
    let pw = &alice
        .credentials
        .as_ref()
        .expect("admin view has credentials")["password"];
    assert_eq!(
        pw.r#type,
        Some(models::identity_credentials::TypeEnum::Password)
    );
    assert_eq!(pw.identifiers, Some(vec!["alice@example.com".to_string()]));
    assert_eq!(pw.config, None, "config hidden unless included");
    let va = &alice.verifiable_addresses.as_ref().unwrap()[0];
    assert_eq!(va.value, "alice@example.com");
    assert_eq!(va.status, "pending");
    assert!(!va.verified);
    assert_eq!(va.via, models::verifiable_identity_address::ViaEnum::Email);
    let ra = &alice.recovery_addresses.as_ref().unwrap()[0];
    assert_eq!(
        (ra.value.as_str(), ra.via.as_str()),
        ("alice@example.com", "email")
    );

    // Conflicts and validation errors arrive as the SDK's error envelope.
    let (status, e) = generic(
        "createIdentity (duplicate)",
        identity_api::create_identity(&admin, Some(create_body("ALICE@example.com", None))).await,
    );
    assert_eq!(status, 409);
    assert_eq!(
        e.reason.as_deref(),
        Some("This identity conflicts with another identity that already exists.")
    );
    let (status, _) = generic(
        "createIdentity (invalid trait)",
        identity_api::create_identity(&admin, Some(create_body("not-an-email", None))).await,
    );
    assert_eq!(status, 400);
    let bob = create(&admin, "bob@example.com", None).await;
    assert!(bob.credentials.as_ref().is_none_or(|c| c.is_empty()));

    // getIdentity, with and without the password config.
    let got = ok(
        "getIdentity",
        identity_api::get_identity(&admin, &alice.id, None).await,
    );
    assert_eq!(got, alice);
    let with = ok(
        "getIdentity (include_credential)",
        identity_api::get_identity(&admin, &alice.id, Some(vec!["password".into()])).await,
    );
    let hash = with.credentials.unwrap()["password"]
        .config
        .clone()
        .unwrap()["hashed_password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hash.starts_with("$2"), "bcrypt hash, got {hash}");
    let (status, _) = generic(
        "getIdentity (unknown)",
        identity_api::get_identity(&admin, &uuid::Uuid::new_v4().to_string(), None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "getIdentity (bad include_credential)",
        identity_api::get_identity(&admin, &alice.id, Some(vec!["bogus".into()])).await,
    );
    assert_eq!(status, 400);

    // listIdentities: everything, each filter, include_credential, pagination.
    let list = |per_page,
                page_size,
                page_token: Option<String>,
                ids,
                ident: Option<&'static str>,
                similar: Option<&'static str>,
                include| {
        let admin = admin.clone();
        async move {
            identity_api::list_identities(
                &admin,
                per_page,
                None,
                page_size,
                page_token.as_deref(),
                None,
                ids,
                ident,
                similar,
                include,
                None,
            )
            .await
        }
    };
    let all = ok(
        "listIdentities",
        list(None, None, None, None, None, None, None).await,
    );
    assert_eq!(
        sorted(all.iter().map(|i| i.id.clone()).collect()),
        sorted(vec![alice.id.clone(), bob.id.clone()])
    );
    assert!(all.iter().all(|i| i.metadata_admin.is_some()));
    let found = ok(
        "listIdentities (credentials_identifier)",
        list(
            None,
            None,
            None,
            None,
            Some("ALICE@example.com"),
            None,
            None,
        )
        .await,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, alice.id);
    let similar = ok(
        "listIdentities (preview_credentials_identifier_similar)",
        list(None, None, None, None, None, Some("ali"), None).await,
    );
    assert_eq!(
        similar.iter().map(|i| &i.id).collect::<Vec<_>>(),
        [&alice.id]
    );
    let by_ids = ok(
        "listIdentities (ids)",
        list(
            None,
            None,
            None,
            Some(vec![bob.id.clone()]),
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(by_ids.iter().map(|i| &i.id).collect::<Vec<_>>(), [&bob.id]);
    let included = ok(
        "listIdentities (include_credential)",
        list(
            None,
            None,
            None,
            Some(vec![alice.id.clone()]),
            None,
            None,
            Some(vec!["password".into()]),
        )
        .await,
    );
    assert!(included[0].credentials.as_ref().unwrap()["password"]
        .config
        .is_some());
    let (status, e) = generic(
        "listIdentities (two filters)",
        list(
            None,
            None,
            None,
            Some(vec![bob.id.clone()]),
            Some("bob@example.com"),
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert!(
        e.reason
            .as_deref()
            .unwrap_or(&e.message)
            .contains("cannot combine"),
        "{e:?}"
    );
    let strong = ok(
        "listIdentities (consistency=strong)",
        identity_api::list_identities(
            &admin,
            None,
            None,
            None,
            None,
            Some("strong"),
            None,
            None,
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(strong.len(), 2);
    let first = ok(
        "listIdentities (page_size=1)",
        list(None, Some(1), None, None, None, None, None).await,
    );
    assert_eq!(first.len(), 1);
    let token = next_page_token(&app.admin("/admin/identities?page_size=1"), None)
        .await
        .expect("a next page");
    let second = ok(
        "listIdentities (page_token)",
        list(None, Some(1), Some(token), None, None, None, None).await,
    );
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, first[0].id);
    let per_page = ok(
        "listIdentities (per_page)",
        list(Some(1), None, None, None, None, None, None).await,
    );
    assert_eq!(per_page.len(), 1);

    // updateIdentity (PUT) and getIdentityByExternalId.
    let mut update = models::UpdateIdentityBody::new(
        "default".into(),
        models::update_identity_body::StateEnum::Inactive,
        json!({"email": "alice2@example.com"}),
    );
    update.metadata_public = Some(Some(json!({"plan": "pro"})));
    update.external_id = Some("ext:alice@2".into());
    let updated = ok(
        "updateIdentity",
        identity_api::update_identity(&admin, &alice.id, Some(update)).await,
    );
    assert_eq!(updated.state, Some(models::identity::StateEnum::Inactive));
    assert_eq!(updated.traits, Some(json!({"email": "alice2@example.com"})));
    assert_eq!(updated.metadata_public, Some(Some(json!({"plan": "pro"}))));
    assert_eq!(
        updated.credentials.as_ref().unwrap()["password"].identifiers,
        Some(vec!["alice2@example.com".to_string()])
    );
    let by_ext = ok(
        "getIdentityByExternalId",
        identity_api::get_identity_by_external_id(&admin, "ext:alice@2", None).await,
    );
    assert_eq!(by_ext.id, alice.id);
    let by_ext = ok(
        "getIdentityByExternalId (include_credential)",
        identity_api::get_identity_by_external_id(
            &admin,
            "ext:alice@2",
            Some(vec!["password".into()]),
        )
        .await,
    );
    assert!(by_ext.credentials.unwrap()["password"].config.is_some());
    for gone in ["ext:alice@1", "nobody"] {
        let (status, _) = generic(
            "getIdentityByExternalId (unknown)",
            identity_api::get_identity_by_external_id(&admin, gone, None).await,
        );
        assert_eq!(status, 404, "{gone}");
    }
    let (status, _) = generic(
        "updateIdentity (unknown)",
        identity_api::update_identity(
            &admin,
            &uuid::Uuid::new_v4().to_string(),
            Some(models::UpdateIdentityBody::new(
                "default".into(),
                models::update_identity_body::StateEnum::Active,
                json!({"email": "x@example.com"}),
            )),
        )
        .await,
    );
    assert_eq!(status, 404);

    // patchIdentity (JSON Patch).
    let patch = |op: &str, path: &str, value: Option<Value>| models::JsonPatch {
        op: op.into(),
        path: path.into(),
        value: value.map(Some),
        from: None,
    };
    let patched = ok(
        "patchIdentity",
        identity_api::patch_identity(
            &admin,
            &alice.id,
            Some(vec![
                patch("replace", "/state", Some(json!("active"))),
                patch("add", "/metadata_admin", Some(json!({"note": "x"}))),
                patch("remove", "/metadata_public", None),
            ]),
        )
        .await,
    );
    assert_eq!(patched.state, Some(models::identity::StateEnum::Active));
    assert_eq!(patched.metadata_admin, Some(Some(json!({"note": "x"}))));
    assert!(
        matches!(patched.metadata_public, None | Some(None)),
        "{:?}",
        patched.metadata_public
    );
    let (status, _) = generic(
        "patchIdentity (/id)",
        identity_api::patch_identity(
            &admin,
            &alice.id,
            Some(vec![patch("replace", "/id", Some(json!("x")))]),
        )
        .await,
    );
    assert_eq!(status, 400);

    // batchPatchIdentities: per-item results.
    let patch_id = uuid::Uuid::new_v4().to_string();
    let items = vec![
        models::IdentityPatch {
            create: Some(Box::new(create_body("carol@example.com", Some(PASSWORD)))),
            patch_id: Some(patch_id.clone()),
        },
        models::IdentityPatch {
            create: Some(Box::new(create_body("bad", None))),
            patch_id: None,
        },
        models::IdentityPatch {
            create: Some(Box::new(create_body("bob@example.com", None))),
            patch_id: None,
        },
    ];
    let res = ok(
        "batchPatchIdentities",
        identity_api::batch_patch_identities(
            &admin,
            Some(models::PatchIdentitiesBody {
                identities: Some(items),
            }),
        )
        .await,
    );
    use models::identity_patch_response::ActionEnum;
    let res = res.identities.expect("identities");
    assert_eq!(res.len(), 3);
    assert_eq!(res[0].action, Some(ActionEnum::Create));
    assert_eq!(res[0].patch_id.as_deref(), Some(patch_id.as_str()));
    let carol = res[0].identity.clone().expect("created identity id");
    assert_eq!(res[1].action, Some(ActionEnum::Error));
    assert_eq!(res[1].error.clone().flatten().unwrap()["code"], 400);
    assert_eq!(res[2].action, Some(ActionEnum::Error));
    assert_eq!(res[2].error.clone().flatten().unwrap()["code"], 409);
    let carol = ok(
        "getIdentity (batch)",
        identity_api::get_identity(&admin, &carol, None).await,
    );
    assert_eq!(carol.traits, Some(json!({"email": "carol@example.com"})));
    // The batch-imported password works for a native login through the SDK.
    let session = login(&app, &public(&app), "carol@example.com", PASSWORD)
        .await
        .session;
    assert_eq!(session.identity.unwrap().id, carol.id);

    // deleteIdentityCredentials: the last first factor stays; absent and unknown types fail.
    let (status, e) = generic(
        "deleteIdentityCredentials (last first factor)",
        identity_api::delete_identity_credentials(&admin, &carol.id, "password", None).await,
    );
    assert_eq!(status, 400);
    assert!(
        format!("{e:?}").contains("You cannot remove the last first factor credential."),
        "{e:?}"
    );
    let (status, _) = generic(
        "deleteIdentityCredentials (not set up)",
        identity_api::delete_identity_credentials(&admin, &carol.id, "totp", None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentityCredentials (unknown type)",
        identity_api::delete_identity_credentials(&admin, &carol.id, "bogus", None).await,
    );
    assert_eq!(status, 400);
    let (status, _) = generic(
        "deleteIdentityCredentials (unknown identity)",
        identity_api::delete_identity_credentials(
            &admin,
            &uuid::Uuid::new_v4().to_string(),
            "totp",
            None,
        )
        .await,
    );
    assert_eq!(status, 404);

    // deleteIdentity: 204, then 404 for get and for a second delete.
    ok(
        "deleteIdentity",
        identity_api::delete_identity(&admin, &bob.id).await,
    );
    let (status, _) = generic(
        "getIdentity (deleted)",
        identity_api::get_identity(&admin, &bob.id, None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentity (again)",
        identity_api::delete_identity(&admin, &bob.id).await,
    );
    assert_eq!(status, 404);
    let left = ok(
        "listIdentities",
        list(None, None, None, None, None, None, None).await,
    );
    assert_eq!(
        sorted(left.into_iter().map(|i| i.id).collect()),
        sorted(vec![alice.id.clone(), carol.id.clone()])
    );
});

// ---------------------------------------------------------------------------------------------
// Native login and registration.

both_backends!(sdk_native_login, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let trinity = create(&admin, "trinity@example.com", Some(PASSWORD)).await;

    // The SDK cannot read a flow, from Kratos or from here (module docs).
    assert_node_type_failure(
        "createNativeLoginFlow",
        frontend_api::create_native_login_flow(
            &public, None, None, None, None, None, None, None, None,
        )
        .await,
    );
    let flow = native_flow(&app, "login").await;
    let flow_id = flow["id"].as_str().unwrap();
    assert_node_type_failure(
        "getLoginFlow",
        frontend_api::get_login_flow(&public, flow_id, None).await,
    );

    // Wrong password: 400 with the flow and message 4000006.
    let (status, body) = err(
        "updateLoginFlow (wrong password)",
        frontend_api::update_login_flow(
            &public,
            flow_id,
            password_login("trinity@example.com", "not the password at all"),
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_eq!(body["id"], flow_id);
    assert_eq!(body["ui"]["messages"][0]["id"], 4000006);

    // Success on the same flow; the identifier is case-insensitive.
    let res = ok(
        "updateLoginFlow",
        frontend_api::update_login_flow(
            &public,
            flow_id,
            password_login("TRINITY@example.com", PASSWORD),
            None,
            None,
        )
        .await,
    );
    let token = res.session_token.clone().expect("session_token");
    assert!(token.starts_with("ory_st_") && token.len() == 39, "{token}");
    assert!(res.continue_with.as_ref().is_none_or(|c| c.is_empty()));
    let s = &res.session;
    assert_eq!(s.active, Some(true));
    assert_eq!(s.authenticator_assurance_level, Some(Aal::Aal1));
    let m = &s.authentication_methods.as_ref().unwrap()[0];
    assert_eq!(
        m.method,
        Some(models::session_authentication_method::MethodEnum::Password)
    );
    assert_eq!(m.aal, Some(Aal::Aal1));
    assert!(m.completed_at.is_some());
    assert!(ts(&s.expires_at) > ts(&s.authenticated_at));
    assert_eq!(ts(&s.issued_at), ts(&s.authenticated_at));
    let identity = s.identity.as_ref().expect("identity");
    assert_eq!(identity.id, trinity.id);
    assert_eq!(
        identity.traits,
        Some(json!({"email": "trinity@example.com"}))
    );
    assert!(identity.credentials.is_none() && identity.metadata_admin.is_none());

    // toSession answers the same session.
    let me = whoami(&public, &token).await;
    assert_eq!(me.id, s.id);
    assert_eq!(me.identity.as_ref().unwrap().id, trinity.id);

    // Errors the SDK reads as its error envelope.
    let (status, e) = generic(
        "createNativeLoginFlow (already logged in)",
        frontend_api::create_native_login_flow(
            &public,
            None,
            None,
            Some(&token),
            None,
            None,
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_eq!(e.id.as_deref(), Some("session_already_available"));
    let (status, _) = err(
        "updateLoginFlow (unknown flow)",
        frontend_api::update_login_flow(
            &public,
            &uuid::Uuid::new_v4().to_string(),
            password_login("trinity@example.com", PASSWORD),
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 404);
    let (status, e) = generic(
        "createNativeLoginFlow (bad aal)",
        frontend_api::create_native_login_flow(
            &public,
            None,
            Some("aal9"),
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert!(format!("{e:?}").contains("aal9"), "{e:?}");
});

both_backends_with!(
    sdk_native_registration_without_session_hook,
    json!({"selfservice": {"flows": {"registration": {"after": {"password": {"hooks": []}}}}}}),
    |app: TestApp| async move {
        let (public, admin) = (public(&app), admin(&app));
        assert_node_type_failure(
            "createNativeRegistrationFlow",
            frontend_api::create_native_registration_flow(&public, None, None, None, None).await,
        );
        let flow = native_flow(&app, "registration").await;
        let flow_id = flow["id"].as_str().unwrap();
        assert_node_type_failure(
            "getRegistrationFlow",
            frontend_api::get_registration_flow(&public, flow_id, None).await,
        );

        // A policy violation: 400 with the flow.
        let (status, body) = err(
            "updateRegistrationFlow (short password)",
            frontend_api::update_registration_flow(
                &public,
                flow_id,
                password_registration("neo@example.com", "short"),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(body["id"], flow_id);

        // Without the session hook: the identity only, no session, no token, nothing to continue with.
        let res = ok(
            "updateRegistrationFlow",
            frontend_api::update_registration_flow(
                &public,
                flow_id,
                password_registration("Neo@Example.com", PASSWORD),
                None,
            )
            .await,
        );
        assert_eq!(
            res.identity.traits,
            Some(json!({"email": "Neo@Example.com"}))
        );
        assert!(res.identity.credentials.is_none());
        assert!(res.session.is_none() && res.session_token.is_none());
        assert!(res.continue_with.as_ref().is_none_or(|c| c.is_empty()));
        let neo = ok(
            "getIdentity",
            identity_api::get_identity(&admin, &res.identity.id, None).await,
        );
        assert_eq!(
            neo.credentials.unwrap()["password"].identifiers,
            Some(vec!["neo@example.com".to_string()])
        );

        // The identifier is taken now: 400 with the flow, message 4000007.
        let flow = native_flow(&app, "registration").await;
        let (status, body) = err(
            "updateRegistrationFlow (duplicate)",
            frontend_api::update_registration_flow(
                &public,
                flow["id"].as_str().unwrap(),
                password_registration("neo@example.com", PASSWORD),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        assert!(body.to_string().contains("4000007"), "{body}");

        // And the new identity logs in through the SDK.
        let token = login_token(&app, &public, "neo@example.com").await;
        assert_eq!(whoami(&public, &token).await.identity.unwrap().id, neo.id);
    }
);

both_backends!(
    sdk_native_registration_with_session_hook,
    |app: TestApp| async move {
        let (public, admin) = (public(&app), admin(&app));
        // With the `session` hook Kratos answers `continue_with: [set_ory_session_token]`, which
        // the SDK cannot read (module docs): the registration happens, the SDK reports a serde error.
        let flow = native_flow(&app, "registration").await;
        match frontend_api::update_registration_flow(
            &public,
            flow["id"].as_str().unwrap(),
            password_registration("tank@example.com", PASSWORD),
            None,
        )
        .await
        {
            Err(Error::Serde(e)) => {
                assert!(e.to_string().contains("missing field `action`"), "{e}")
            }
            other => panic!("expected the SDK's `action` failure, got {other:?}"),
        }
        let found = ok(
            "listIdentities (credentials_identifier)",
            identity_api::list_identities(
                &admin,
                None,
                None,
                None,
                None,
                None,
                None,
                Some("tank@example.com"),
                None,
                None,
                None,
            )
            .await,
        );
        assert_eq!(found.len(), 1);

        // The same operation over plain HTTP: Kratos's documented body; everything but
        // `continue_with` reads with the SDK's models, and the token works with the SDK.
        let flow = native_flow(&app, "registration").await;
        let res = reqwest::Client::new()
            .post(app.public(&format!(
                "/self-service/registration?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .json(
                &json!({"method": "password", "traits": {"email": "dozer@example.com"},
                          "password": PASSWORD}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let token = body["session_token"].as_str().unwrap().to_string();
        assert_eq!(
            body["continue_with"],
            json!([{"action": "set_ory_session_token", "ory_session_token": token}])
        );
        let identity: models::Identity = serde_json::from_value(body["identity"].clone())
            .expect("the SDK reads the registered identity");
        let session: models::Session =
            serde_json::from_value(body["session"].clone()).expect("the SDK reads the new session");
        assert_eq!(session.identity.as_ref().unwrap().id, identity.id);
        assert_eq!(session.active, Some(true));
        let me = whoami(&public, &token).await;
        assert_eq!(me.id, session.id);
        assert_eq!(me.identity.unwrap().id, identity.id);
    }
);

// ---------------------------------------------------------------------------------------------
// The "my sessions" operations and native logout.

both_backends!(sdk_my_sessions, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let apoc = create(&admin, "apoc@example.com", Some(PASSWORD)).await;
    create(&admin, "switch@example.com", Some(PASSWORD)).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(login_token(&app, &public, "apoc@example.com").await);
    }
    let theirs = login_token(&app, &public, "switch@example.com").await;
    let current = tokens[0].as_str();

    // toSession: the session, its identity and the device the SDK logged in from.
    let mut ids = Vec::new();
    for t in &tokens {
        ids.push(whoami(&public, t).await.id);
    }
    let me = whoami(&public, current).await;
    assert_eq!(me.id, ids[0]);
    assert_eq!(me.active, Some(true));
    assert_eq!(me.authenticator_assurance_level, Some(Aal::Aal1));
    assert_eq!(me.identity.as_ref().unwrap().id, apoc.id);
    let devices = me.devices.clone().unwrap_or_default();
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_eq!(devices[0].user_agent.as_deref(), Some(SDK_USER_AGENT));
    let their_id = whoami(&public, &theirs).await.id;

    // listMySessions: the other three, newest first, identity expanded, never the current one.
    let list = ok(
        "listMySessions",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(current), None).await,
    );
    let listed: Vec<String> = list.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed, [ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    for s in &list {
        assert_eq!(s.active, Some(true));
        assert_eq!(s.identity.as_ref().unwrap().id, apoc.id);
        assert!(s.devices.is_some());
    }
    let page = ok(
        "listMySessions (page_size)",
        frontend_api::list_my_sessions(&public, None, None, Some(2), None, Some(current), None)
            .await,
    );
    assert_eq!(
        page.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&ids[3], &ids[2]]
    );
    let token = next_page_token(&app.public("/sessions?page_size=2"), Some(current))
        .await
        .expect("a next page");
    let page2 = ok(
        "listMySessions (page_token)",
        frontend_api::list_my_sessions(
            &public,
            None,
            None,
            Some(2),
            Some(&token),
            Some(current),
            None,
        )
        .await,
    );
    assert_eq!(page2.iter().map(|s| &s.id).collect::<Vec<_>>(), [&ids[1]]);
    let legacy = ok(
        "listMySessions (per_page, page)",
        frontend_api::list_my_sessions(&public, Some(1), Some(0), None, None, Some(current), None)
            .await,
    );
    assert_eq!(legacy.len(), 1);

    // disableMySession: not the current one (400), silently nothing for foreign/unknown ids.
    let (status, e) = generic(
        "disableMySession (current)",
        frontend_api::disable_my_session(&public, &me.id, Some(current), None).await,
    );
    assert_eq!(status, 400);
    assert_eq!(e.message, "cannot revoke current session");
    assert_eq!(e.debug.as_deref(), Some("use the logout flow instead"));
    let (status, _) = generic(
        "disableMySession (not a uuid)",
        frontend_api::disable_my_session(&public, "not-a-uuid", Some(current), None).await,
    );
    assert_eq!(status, 400);
    ok(
        "disableMySession (foreign)",
        frontend_api::disable_my_session(&public, &their_id, Some(current), None).await,
    );
    whoami(&public, &theirs).await;
    ok(
        "disableMySession (unknown)",
        frontend_api::disable_my_session(
            &public,
            &uuid::Uuid::new_v4().to_string(),
            Some(current),
            None,
        )
        .await,
    );
    ok(
        "disableMySession",
        frontend_api::disable_my_session(&public, &ids[1], Some(current), None).await,
    );
    assert_dead(&public, &tokens[1]).await;
    let list = ok(
        "listMySessions",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(current), None).await,
    );
    assert_eq!(
        list.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&ids[3], &ids[2]]
    );
    // Revoking an already revoked one is still a success.
    ok(
        "disableMySession (again)",
        frontend_api::disable_my_session(&public, &ids[1], Some(current), None).await,
    );

    // disableMyOtherSessions: {"count": 2}; only the current session (and foreign ones) survive.
    let count = ok(
        "disableMyOtherSessions",
        frontend_api::disable_my_other_sessions(&public, Some(current), None).await,
    );
    assert_eq!(count.count, Some(2));
    for t in &tokens[1..] {
        assert_dead(&public, t).await;
    }
    assert_eq!(whoami(&public, current).await.id, ids[0]);
    whoami(&public, &theirs).await;
    let list = ok(
        "listMySessions (none left)",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(current), None).await,
    );
    assert!(list.is_empty());
    let count = ok(
        "disableMyOtherSessions (nothing left)",
        frontend_api::disable_my_other_sessions(&public, Some(current), None).await,
    );
    assert_eq!(count.count, Some(0));

    // Without a valid session: 401, no error id.
    assert_dead(&public, "ory_st_unknownunknownunknownunknown0").await;
    let (status, e) = generic(
        "toSession (no credentials)",
        frontend_api::to_session(&public, None, None, None).await,
    );
    assert_eq!(status, 401);
    assert_eq!(e.id, None);
    let (status, e) = generic(
        "listMySessions (revoked)",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(&tokens[2]), None)
            .await,
    );
    assert_eq!(status, 401);
    assert_eq!(e.reason.as_deref(), Some("No valid session cookie found."));
    let (status, _) = generic(
        "disableMyOtherSessions (revoked)",
        frontend_api::disable_my_other_sessions(&public, Some(&tokens[2]), None).await,
    );
    assert_eq!(status, 401);
    let (status, _) = generic(
        "disableMySession (revoked)",
        frontend_api::disable_my_session(&public, &ids[0], Some(&tokens[2]), None).await,
    );
    assert_eq!(status, 401);
});

both_backends!(sdk_native_logout, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    create(&admin, "mouse@example.com", Some(PASSWORD)).await;
    let t1 = login_token(&app, &public, "mouse@example.com").await;
    let t2 = login_token(&app, &public, "mouse@example.com").await;
    let s1 = whoami(&public, &t1).await;

    let logout = |token: &str| {
        frontend_api::perform_native_logout(
            &public,
            models::PerformNativeLogoutBody::new(token.to_string()),
        )
    };
    ok("performNativeLogout", logout(&t1).await);
    assert_dead(&public, &t1).await;
    // Idempotent: logging out a revoked token succeeds again.
    ok("performNativeLogout (again)", logout(&t1).await);
    // The SDK only says "success"; the status itself is 204 both times.
    let res = reqwest::Client::new()
        .delete(app.public("/self-service/logout/api"))
        .json(&models::PerformNativeLogoutBody::new(t1.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // The other session is untouched; the revoked one is kept, inactive.
    whoami(&public, &t2).await;
    let kept = ok(
        "getSession",
        identity_api::get_session(&admin, &s1.id, None).await,
    );
    assert_eq!(kept.active, Some(false));

    // Unknown or empty tokens: 403.
    for bad in ["ory_st_unknownunknownunknownunknown0", ""] {
        let (status, e) = generic("performNativeLogout (unknown)", logout(bad).await);
        assert_eq!(status, 403, "{bad:?}");
        assert_eq!(
            e.reason.as_deref(),
            Some("The provided Ory Session Token could not be found, is invalid, or otherwise malformed.")
        );
    }
    ok("performNativeLogout", logout(&t2).await);
    assert_dead(&public, &t2).await;
});

// ---------------------------------------------------------------------------------------------
// The admin session operations.

both_backends!(sdk_admin_sessions, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let niobe = create(&admin, "niobe@example.com", Some(PASSWORD)).await;
    let ghost = create(&admin, "ghost@example.com", Some(PASSWORD)).await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(login_token(&app, &public, "niobe@example.com").await);
    }
    let theirs = login_token(&app, &public, "ghost@example.com").await;
    let mut ids = Vec::new();
    for t in &tokens {
        ids.push(whoami(&public, t).await.id);
    }
    let their_id = whoami(&public, &theirs).await.id;
    let mut everyone = ids.clone();
    everyone.push(their_id.clone());
    let everyone = sorted(everyone);

    // listSessions: all, unexpanded by default; expand; pagination; active filter.
    let all = ok(
        "listSessions",
        identity_api::list_sessions(&admin, None, None, None, None).await,
    );
    assert_eq!(sorted(all.iter().map(|s| s.id.clone()).collect()), everyone);
    assert!(
        all.iter().all(|s| s.identity.is_none()),
        "identity not expanded"
    );
    assert!(all
        .iter()
        .all(|s| s.devices.as_ref().is_none_or(|d| d.is_empty())));
    let expanded = ok(
        "listSessions (expand)",
        identity_api::list_sessions(
            &admin,
            None,
            None,
            None,
            Some(vec!["identity".into(), "devices".into()]),
        )
        .await,
    );
    for s in &expanded {
        let iid = &s.identity.as_ref().expect("identity expanded").id;
        assert_eq!(
            iid,
            if s.id == their_id {
                &ghost.id
            } else {
                &niobe.id
            }
        );
        assert_eq!(s.devices.as_ref().map(|d| d.len()), Some(1));
    }
    let page = ok(
        "listSessions (page_size)",
        identity_api::list_sessions(&admin, Some(3), None, None, None).await,
    );
    assert_eq!(page.len(), 3);
    let token = next_page_token(&app.admin("/admin/sessions?page_size=3"), None)
        .await
        .expect("a next page");
    let page2 = ok(
        "listSessions (page_token)",
        identity_api::list_sessions(&admin, Some(3), Some(&token), None, None).await,
    );
    assert_eq!(page2.len(), 1);
    let mut walked: Vec<String> = page.iter().chain(&page2).map(|s| s.id.clone()).collect();
    walked = sorted(walked);
    assert_eq!(walked, everyone);
    let (status, _) = generic(
        "listSessions (bad expand)",
        identity_api::list_sessions(&admin, None, None, None, Some(vec!["bogus".into()])).await,
    );
    assert_eq!(status, 400);

    // getSession.
    let sid = ids[0].clone();
    let one = ok(
        "getSession",
        identity_api::get_session(&admin, &sid, None).await,
    );
    assert_eq!(one.id, sid);
    assert_eq!(one.active, Some(true));
    assert!(one.identity.is_none());
    let one = ok(
        "getSession (expand)",
        identity_api::get_session(
            &admin,
            &sid,
            Some(vec!["identity".into(), "devices".into()]),
        )
        .await,
    );
    assert_eq!(one.identity.as_ref().unwrap().id, niobe.id);
    assert_eq!(one.devices.as_ref().map(|d| d.len()), Some(1));
    let (status, _) = generic(
        "getSession (unknown)",
        identity_api::get_session(&admin, &uuid::Uuid::new_v4().to_string(), None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "getSession (bad id)",
        identity_api::get_session(&admin, "nope", None).await,
    );
    assert_eq!(status, 400);

    // extendSession: 200 + the session with its identity, expiring later.
    app.registry.clock.advance(chrono::Duration::minutes(10));
    let extended = ok(
        "extendSession",
        identity_api::extend_session(&admin, &sid).await,
    );
    assert_eq!(extended.id, sid);
    assert!(ts(&extended.expires_at) > ts(&one.expires_at));
    assert_eq!(extended.identity.as_ref().unwrap().id, niobe.id);
    let again = ok(
        "getSession",
        identity_api::get_session(&admin, &sid, None).await,
    );
    assert_eq!(ts(&again.expires_at), ts(&extended.expires_at));
    let (status, _) = generic(
        "extendSession (unknown)",
        identity_api::extend_session(&admin, &uuid::Uuid::new_v4().to_string()).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "extendSession (bad id)",
        identity_api::extend_session(&admin, "nope").await,
    );
    assert_eq!(status, 400);

    // disableSession: the token dies, the session stays readable as inactive.
    ok(
        "disableSession",
        identity_api::disable_session(&admin, &sid).await,
    );
    assert_dead(&public, &tokens[0]).await;
    let off = ok(
        "getSession",
        identity_api::get_session(&admin, &sid, None).await,
    );
    assert_eq!(off.active, Some(false));
    let (status, _) = generic(
        "disableSession (unknown)",
        identity_api::disable_session(&admin, &uuid::Uuid::new_v4().to_string()).await,
    );
    assert_eq!(status, 404);
    let active = ok(
        "listSessions (active=true)",
        identity_api::list_sessions(&admin, None, None, Some(true), None).await,
    );
    assert_eq!(active.len(), 3);
    assert!(active.iter().all(|s| s.id != sid));
    let inactive = ok(
        "listSessions (active=false)",
        identity_api::list_sessions(&admin, None, None, Some(false), None).await,
    );
    assert_eq!(inactive.iter().map(|s| &s.id).collect::<Vec<_>>(), [&sid]);

    // listIdentitySessions: the identity's sessions, expanded; filters; unknown identity is [].
    let list_of = |id: String, page_size: Option<i64>, active: Option<bool>| {
        let admin = admin.clone();
        async move {
            identity_api::list_identity_sessions(&admin, &id, None, None, page_size, None, active)
                .await
        }
    };
    let mine = ok(
        "listIdentitySessions",
        list_of(niobe.id.clone(), None, None).await,
    );
    assert_eq!(
        sorted(mine.iter().map(|s| s.id.clone()).collect()),
        sorted(ids.clone())
    );
    assert!(mine
        .iter()
        .all(|s| s.identity.as_ref().unwrap().id == niobe.id));
    let on = ok(
        "listIdentitySessions (active=true)",
        list_of(niobe.id.clone(), None, Some(true)).await,
    );
    assert_eq!(
        sorted(on.iter().map(|s| s.id.clone()).collect()),
        sorted(ids[1..].to_vec())
    );
    let off = ok(
        "listIdentitySessions (active=false)",
        list_of(niobe.id.clone(), None, Some(false)).await,
    );
    assert_eq!(off.iter().map(|s| &s.id).collect::<Vec<_>>(), [&sid]);
    let one_page = ok(
        "listIdentitySessions (page_size)",
        list_of(niobe.id.clone(), Some(1), None).await,
    );
    assert_eq!(one_page.len(), 1);
    let nobody = ok(
        "listIdentitySessions (unknown identity)",
        list_of(uuid::Uuid::new_v4().to_string(), None, None).await,
    );
    assert!(nobody.is_empty());
    let (status, _) = generic(
        "listIdentitySessions (bad id)",
        list_of("nope".into(), None, None).await,
    );
    assert_eq!(status, 400);

    // deleteIdentitySessions: 204, every token of the identity dies, then 404.
    ok(
        "deleteIdentitySessions",
        identity_api::delete_identity_sessions(&admin, &niobe.id).await,
    );
    for t in &tokens {
        assert_dead(&public, t).await;
    }
    whoami(&public, &theirs).await;
    let none = ok(
        "listIdentitySessions (deleted)",
        list_of(niobe.id.clone(), None, None).await,
    );
    assert!(none.is_empty(), "sessions are deleted, not revoked");
    let (status, _) = generic(
        "getSession (deleted)",
        identity_api::get_session(&admin, &ids[1], None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentitySessions (again)",
        identity_api::delete_identity_sessions(&admin, &niobe.id).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentitySessions (unknown identity)",
        identity_api::delete_identity_sessions(&admin, &uuid::Uuid::new_v4().to_string()).await,
    );
    assert_eq!(status, 404);
});

// ---------------------------------------------------------------------------------------------
// A server-side application forwarding the browser's session cookie through the SDK.

/// The `ory_kratos_session` cookie (`name=value`) of an SPA-style browser login, done over plain
/// HTTP: the SDK can read neither the flow nor (see below) the login response.
async fn browser_session_cookie(app: &TestApp, email: &str) -> String {
    let c = crate::helpers::new_client();
    let flow: Value = c
        .get(app.public("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .unwrap()["attributes"]["value"]
        .clone();
    let res = c
        .post(app.public(&format!(
            "/self-service/login?flow={}",
            flow["id"].as_str().unwrap()
        )))
        .header("Accept", "application/json")
        .json(
            &json!({"method": "password", "identifier": email, "password": PASSWORD,
                      "csrf_token": csrf}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ory_kratos_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // Kratos answers `continue_with: [redirect_browser_to]` here, which the SDK cannot read.
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["continue_with"][0]["action"], "redirect_browser_to");
    let e = serde_json::from_value::<models::SuccessfulNativeLogin>(body).unwrap_err();
    assert!(e.to_string().contains("missing field `action`"), "{e}");
    cookie
}

both_backends!(sdk_cookie_sessions, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let link = create(&admin, "link@example.com", Some(PASSWORD)).await;
    let cookie = browser_session_cookie(&app, "link@example.com").await;
    let other_cookie = browser_session_cookie(&app, "link@example.com").await;
    let token = login_token(&app, &public, "link@example.com").await;
    let native_id = whoami(&public, &token).await.id;

    let me = ok(
        "toSession (cookie)",
        frontend_api::to_session(&public, None, Some(&cookie), None).await,
    );
    assert_eq!(me.identity.as_ref().unwrap().id, link.id);
    assert_eq!(me.active, Some(true));
    let other_id = ok(
        "toSession (cookie)",
        frontend_api::to_session(&public, None, Some(&other_cookie), None).await,
    )
    .id;
    let list = ok(
        "listMySessions (cookie)",
        frontend_api::list_my_sessions(&public, None, None, None, None, None, Some(&cookie)).await,
    );
    assert_eq!(
        sorted(list.iter().map(|s| s.id.clone()).collect()),
        sorted(vec![native_id.clone(), other_id.clone()])
    );
    // Cookie-authenticated revocations need no CSRF token.
    ok(
        "disableMySession (cookie)",
        frontend_api::disable_my_session(&public, &native_id, None, Some(&cookie)).await,
    );
    assert_dead(&public, &token).await;
    let count = ok(
        "disableMyOtherSessions (cookie)",
        frontend_api::disable_my_other_sessions(&public, None, Some(&cookie)).await,
    );
    assert_eq!(count.count, Some(1));
    let (status, _) = generic(
        "toSession (revoked cookie)",
        frontend_api::to_session(&public, None, Some(&other_cookie), None).await,
    );
    assert_eq!(status, 401);

    // Browser logout with the forwarded cookie: createBrowserLogoutFlow, then updateLogoutFlow
    // (303 to the return URL, so the client must not follow redirects off to that site).
    let flow = ok(
        "createBrowserLogoutFlow",
        frontend_api::create_browser_logout_flow(&public, Some(&cookie), None).await,
    );
    assert!(flow.logout_token.starts_with("ory_lo_"), "{flow:?}");
    assert!(
        flow.logout_url
            .starts_with(&app.public("/self-service/logout?"))
            && flow.logout_url.contains(&flow.logout_token),
        "{flow:?}"
    );
    let no_redirects = Configuration {
        base_path: app.public_url.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        ..Default::default()
    };
    ok(
        "updateLogoutFlow",
        frontend_api::update_logout_flow(
            &no_redirects,
            Some(&flow.logout_token),
            None,
            Some(&cookie),
        )
        .await,
    );
    let (status, _) = generic(
        "toSession (logged out)",
        frontend_api::to_session(&public, None, Some(&cookie), None).await,
    );
    assert_eq!(status, 401);
});
