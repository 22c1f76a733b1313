//! The `password` method: an identifier and a password, for login, registration (with the
//! traits) and settings (a new password). Passwords are hashed on the hashing threads; attempts
//! are counted before any comparison (`selfservice/rate_limit.rs`).

use super::{field, Changed, Fields, Fut, LoggedIn, Strategy};
use crate::error::{Error, Result};
use crate::identity::{manager as identity_manager, normalize_identifier, Credential, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::{Flow, Kind};
use crate::selfservice::password_policy;
use crate::selfservice::request::FlowRequest;
use crate::selfservice::text;
use crate::selfservice::ui::{Message, Node};
use crate::session::{AuthenticationMethod, Session};
use serde_json::{json, Value};

pub struct Password;

const ID: &str = "password";

/// The AMR entry of a password.
fn amr(r: &Registry) -> AuthenticationMethod {
    AuthenticationMethod::first_factor(ID, r.clock.now())
}

/// A password credential for `hash`.
fn credential(hash: String, created_at: chrono::DateTime<chrono::Utc>, r: &Registry) -> Credential {
    Credential {
        kind: ID.into(),
        identifiers: Vec::new(),
        config: json!({ "hashed_password": hash }),
        version: 0,
        created_at,
        updated_at: r.clock.now(),
    }
}

/// The password-identifier values of `traits` under the identity's schema.
fn identifiers(r: &Registry, schema_id: &str, traits: &Value) -> Vec<String> {
    r.schemas
        .get(schema_id)
        .map(|s| {
            s.trait_values(traits)
                .into_iter()
                .filter(|v| v.ext.password_identifier)
                .map(|v| v.value)
                .collect()
        })
        .unwrap_or_default()
}

/// Hash a password that passed the policy (a hashing failure is the server's).
async fn hash(r: &Registry, password: String) -> Result<String> {
    r.hasher
        .hash(password)
        .await
        .map_err(|e| Error::internal(format!("hashing failed: {e}")))
}

impl Strategy for Password {
    fn id(&self) -> &'static str {
        ID
    }

    fn enabled(&self, r: &Registry) -> bool {
        r.config.selfservice.methods.password.enabled
    }

    fn takes_part(&self, kind: Kind) -> bool {
        matches!(kind, Kind::Login | Kind::Registration | Kind::Settings)
    }

    fn nodes<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        identity: Option<&'a Identity>,
    ) -> Fut<'a, ()> {
        Box::pin(async move {
            match f.kind {
                Kind::Login => login_nodes(f, identity)?,
                Kind::Registration => {
                    super::traits::ensure_nodes(r, f);
                    f.ui.nodes.push(new_password_node());
                    f.ui.nodes.push(submit_node(text::sign_up()));
                }
                _ => {
                    f.ui.nodes.push(new_password_node());
                    f.ui.nodes.push(submit_node(text::save_label()));
                }
            }
            Ok(())
        })
    }

    fn login<'a>(
        &'a self,
        r: &'a Registry,
        req: &'a FlowRequest,
        f: &'a mut Flow,
        fields: &'a Fields,
    ) -> Fut<'a, Option<LoggedIn>> {
        Box::pin(login(r, req, f, fields))
    }

    fn register<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        fields: &'a Fields,
    ) -> Fut<'a, Option<Identity>> {
        Box::pin(register(r, f, fields))
    }

    fn update_settings<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        session: &'a Session,
        identity: &'a Identity,
        fields: &'a Fields,
    ) -> Fut<'a, Changed> {
        Box::pin(update_settings(r, f, session, identity, fields))
    }
}

fn new_password_node() -> Node {
    Node::input(ID, "password", "password")
        .required()
        .attr("autocomplete", "new-password")
        .label(text::password_label())
}

fn submit_node(label: Message) -> Node {
    Node::input(ID, "method", "submit").value(ID).label(label)
}

/// Login nodes: the identifier (hidden and filled in on a refresh, from `owner`: the refreshed
/// session's identity, read once by the login flow), the password, the button.
fn login_nodes(f: &mut Flow, owner: Option<&Identity>) -> Result<()> {
    let refresh_identifier = owner.filter(|_| f.refresh).and_then(|i| {
        i.credentials
            .get(ID)
            .and_then(|c| c.identifiers.first().cloned())
    });
    match refresh_identifier {
        Some(identifier) => {
            f.ui.nodes
                .push(Node::input("default", "identifier", "hidden").value(identifier));
            f.ui.messages.push(text::refresh_confirm());
        }
        None => f.ui.nodes.push(
            Node::input("default", "identifier", "text")
                .value("")
                .required()
                .label(text::id_label()),
        ),
    }
    f.ui.nodes.push(
        Node::input(ID, "password", "password")
            .required()
            .attr("autocomplete", "current-password")
            .label(text::password_label()),
    );
    let label = if f.refresh {
        text::sign_in()
    } else {
        text::sign_in_with_password()
    };
    f.ui.nodes.push(submit_node(label));
    Ok(())
}

async fn login(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    fields: &Fields,
) -> Result<Option<LoggedIn>> {
    let identifier = field(fields, "identifier")
        .or_else(|| field(fields, "password_identifier"))
        .unwrap_or_default();
    let password = field(fields, "password").unwrap_or_default();
    f.ui.set_value("identifier", identifier.clone());
    let mut missing = false;
    if identifier.trim().is_empty() {
        f.ui.add_node_message("identifier", text::missing("identifier"));
        missing = true;
    }
    if password.is_empty() {
        f.ui.add_node_message("password", text::missing("password"));
        missing = true;
    }
    if missing {
        return Ok(None);
    }
    let client = req.client_address.as_deref();
    crate::selfservice::rate_limit::login_attempt(r, client, &identifier).await?;
    let identity = if password.len() > password_policy::MAX_PASSWORD_BYTES {
        // No stored password is this long: refused before any hashing work.
        None
    } else {
        verify(r, &identifier, &password).await?
    };
    let Some(identity) = identity else {
        f.ui.messages.push(text::invalid_credentials());
        return Ok(None);
    };
    crate::selfservice::rate_limit::login_succeeded(r, client, &identifier).await?;
    Ok(Some(LoggedIn {
        identity,
        method: amr(r),
        identifier,
    }))
}

/// Verify an identifier and password. Unknown identifiers cost one dummy verification, so timing
/// does not reveal which identifiers exist. A successful login with an outdated hash re-hashes.
pub async fn verify(r: &Registry, identifier: &str, password: &str) -> Result<Option<Identity>> {
    let normalized = normalize_identifier(ID, identifier);
    let identity = r
        .persister
        .find_identity_by_identifier(ID, &normalized)
        .await?;
    let stored = identity
        .as_ref()
        .and_then(|i| i.password_hash().map(str::to_string));
    let (Some(mut identity), Some(stored)) = (identity, stored) else {
        r.hasher.verify_dummy(password.to_string()).await;
        return Ok(None);
    };
    let ok = r
        .hasher
        .verify(password.to_string(), stored.clone())
        .await
        .unwrap_or(false);
    if !ok {
        return Ok(None);
    }
    if r.hasher.needs_rehash(&stored) {
        if let Ok(new_hash) = r.hasher.hash(password.to_string()).await {
            // Only the password credential changes, and only if it is still the one verified.
            let now = r.clock.now();
            let written = r
                .sessions()
                .modify_identity(identity.id, |i| match i.credentials.get_mut(ID) {
                    Some(c)
                        if c.config.get("hashed_password").and_then(Value::as_str)
                            == Some(stored.as_str()) =>
                    {
                        c.config = json!({ "hashed_password": new_hash });
                        c.updated_at = now;
                        true
                    }
                    _ => false,
                })
                .await;
            match written {
                Ok(Some(fresh)) => identity = fresh,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not store the re-hashed password"),
            }
        }
    }
    Ok(Some(identity))
}

async fn register(r: &Registry, f: &mut Flow, fields: &Fields) -> Result<Option<Identity>> {
    let now = r.clock.now();
    let checked = super::traits::from_submission(r, f, fields);
    let mut invalid = checked.is_none();
    let traits = checked.unwrap_or_else(|| json!({}));
    let schema = r.schemas.default_schema().clone();
    let password = field(fields, "password").unwrap_or_default();
    if password.is_empty() {
        f.ui.add_node_message("password", text::missing("password"));
        invalid = true;
    } else if !invalid {
        let identifiers = identifiers(r, &schema.id, &traits);
        if identifiers.is_empty() {
            f.ui.messages.push(Message::error(
                4000009,
                "Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.",
            ));
            invalid = true;
        } else if let Some(m) = password_policy::check_blocking(
            &r.config.selfservice.methods.password.config,
            r.hasher.max_password_bytes(),
            &password,
            &identifiers,
        )
        .await
        {
            f.ui.add_node_message("password", m);
            invalid = true;
        }
    }
    if invalid {
        return Ok(None);
    }
    let hash = hash(r, password).await?;
    let mut identity = Identity::new(&schema.id, traits, now);
    identity
        .credentials
        .insert(ID.into(), credential(hash, now, r));
    identity_manager::prepare(&r.schemas, &mut identity, now)?;
    Ok(Some(identity))
}

async fn update_settings(
    r: &Registry,
    f: &mut Flow,
    session: &Session,
    identity: &Identity,
    fields: &Fields,
) -> Result<Changed> {
    if !crate::selfservice::settings::is_privileged(r, session) {
        return Err(crate::selfservice::settings::refresh_required(r, f));
    }
    let now = r.clock.now();
    let password = field(fields, "password").unwrap_or_default();
    if password.is_empty() {
        f.ui.add_node_message("password", text::missing("password"));
        return Ok(Changed::Invalid);
    }
    let identifiers = identifiers(r, &identity.schema_id, &identity.traits);
    let mut problem = password_policy::check_blocking(
        &r.config.selfservice.methods.password.config,
        r.hasher.max_password_bytes(),
        &password,
        &identifiers,
    )
    .await;
    if problem.is_none() {
        if let Some(old) = identity.password_hash() {
            if r.hasher
                .verify(password.clone(), old.to_string())
                .await
                .unwrap_or(false)
            {
                problem = Some(text::same_password());
            }
        }
    }
    if let Some(m) = problem {
        f.ui.add_node_message("password", m);
        return Ok(Changed::Invalid);
    }
    let hash = hash(r, password).await?;
    let mut identity = identity.clone();
    let created_at = identity
        .credentials
        .get(ID)
        .map(|c| c.created_at)
        .unwrap_or(now);
    identity
        .credentials
        .insert(ID.into(), credential(hash, created_at, r));
    identity.updated_at = now;
    identity_manager::prepare(&r.schemas, &mut identity, now)?;
    r.sessions().update_identity(&identity).await?;
    Ok(Changed::Saved(Box::new(identity)))
}
