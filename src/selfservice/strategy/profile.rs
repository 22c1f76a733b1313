//! The `profile` method of settings: the identity's traits, validated against its schema. Changing
//! what identifies or reaches the identity (password identifiers, verifiable or recovery
//! addresses) needs a privileged session; new addresses get verification flows.

use super::{Changed, Fields, Fut, Strategy};
use crate::error::{Error, Result};
use crate::identity::{manager as identity_manager, Identity};
use crate::registry::Registry;
use crate::selfservice::flow::{Flow, Kind};
use crate::selfservice::request::FlowRequest;
use crate::selfservice::settings::{is_privileged, refresh_required};
use crate::selfservice::text;
use crate::selfservice::ui::{trait_nodes, Message, Node};
use crate::session::Session;
use serde_json::json;

pub struct Profile;

const ID: &str = "profile";

impl Strategy for Profile {
    fn id(&self) -> &'static str {
        ID
    }

    fn enabled(&self, r: &Registry) -> bool {
        r.config.selfservice.methods.profile.enabled
    }

    fn takes_part(&self, kind: Kind) -> bool {
        kind == Kind::Settings
    }

    fn nodes<'a>(
        &'a self,
        r: &'a Registry,
        _req: &'a FlowRequest,
        f: &'a mut Flow,
        identity: Option<&'a Identity>,
    ) -> Fut<'a, ()> {
        Box::pin(async move {
            if let Some(identity) = identity {
                traits_nodes(r, f, identity);
            }
            f.ui.nodes.push(
                Node::input(ID, "method", "submit")
                    .value(ID)
                    .label(text::save_label()),
            );
            Ok(())
        })
    }

    fn update_settings<'a>(
        &'a self,
        r: &'a Registry,
        req: &'a FlowRequest,
        f: &'a mut Flow,
        session: &'a Session,
        identity: &'a Identity,
        fields: &'a Fields,
    ) -> Fut<'a, Changed> {
        Box::pin(update(r, req, f, session, identity, fields))
    }
}

/// The identity's traits as nodes, filled in.
fn traits_nodes(r: &Registry, f: &mut Flow, identity: &Identity) {
    let Some(schema) = r.schemas.get(&identity.schema_id) else {
        return;
    };
    let mut nodes = trait_nodes(&schema.raw, ID);
    for n in &mut nodes {
        let pointer: String = n
            .name()
            .split('.')
            .skip(1)
            .map(|s| format!("/{s}"))
            .collect();
        if let Some(v) = identity.traits.pointer(&pointer) {
            n.attributes.insert("value".into(), v.clone());
        }
    }
    f.ui.nodes.extend(nodes);
}

/// Whether a change of traits changes what identifies or reaches the identity.
fn protected_changed(before: &Identity, after: &Identity) -> bool {
    after.credentials.get("password").map(|c| &c.identifiers)
        != before.credentials.get("password").map(|c| &c.identifiers)
        || after
            .verifiable_addresses
            .iter()
            .map(|a| &a.value)
            .ne(before.verifiable_addresses.iter().map(|a| &a.value))
        || after
            .recovery_addresses
            .iter()
            .map(|a| &a.value)
            .ne(before.recovery_addresses.iter().map(|a| &a.value))
}

async fn update(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    session: &Session,
    identity: &Identity,
    fields: &Fields,
) -> Result<Changed> {
    let now = r.clock.now();
    let traits = fields.get("traits").cloned().unwrap_or_else(|| json!({}));
    if let Some(schema) = r.schemas.get(&identity.schema_id) {
        if let Err(errors) = schema.validate_traits(&traits) {
            for (k, v) in traits.as_object().into_iter().flatten() {
                f.ui.set_value(&format!("traits.{k}"), v.clone());
            }
            for e in errors {
                f.ui.add_node_message(
                    &e.node_name(),
                    Message::error(e.message_id, e.text.clone()).with_context(e.context.clone()),
                );
            }
            return Ok(Changed::Invalid);
        }
    }
    let mut updated = identity.clone();
    updated.traits = traits;
    updated.updated_at = now;
    identity_manager::prepare(&r.schemas, &mut updated, now)?;
    if protected_changed(identity, &updated) && !is_privileged(r, session) {
        return Err(refresh_required(r, f));
    }
    match r.sessions().update_identity(&updated).await {
        Ok(_) => {}
        Err(Error::Conflict(_)) => {
            f.ui.messages.push(text::duplicate_identifier());
            return Ok(Changed::Invalid);
        }
        Err(e) => return Err(e),
    }
    if crate::selfservice::verification::is_enabled(r) {
        let new_addresses = Identity {
            verifiable_addresses: updated
                .verifiable_addresses
                .iter()
                .filter(|a| a.status == "pending")
                .cloned()
                .collect(),
            ..updated.clone()
        };
        f.continue_with = crate::selfservice::verification::start_for_addresses(
            r,
            &new_addresses,
            f.flow_type,
            req,
        )
        .await?;
    }
    Ok(Changed::Saved(Box::new(updated)))
}
