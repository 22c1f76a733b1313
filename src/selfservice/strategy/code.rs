//! The `code` and `link` methods of recovery and verification: a one-time code or a link token,
//! stored as a digest and sent by email. Sending is the same for both flows; what differs (the
//! address table, the templates, the link's path, the data keys) is named by [`Purpose`].

use crate::error::Result;
use crate::persistence::code::{AddressTable, NewCode};
use crate::registry::Registry;
use crate::selfservice::codes;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// The flow a code or link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Recovery,
    Verification,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::Recovery => "recovery",
            Purpose::Verification => "verification",
        }
    }

    fn table(self) -> AddressTable {
        match self {
            Purpose::Recovery => AddressTable::Recovery,
            Purpose::Verification => AddressTable::Verifiable,
        }
    }

    fn notify_unknown_recipients(self, r: &Registry) -> bool {
        let flows = &r.config.selfservice.flows;
        match self {
            Purpose::Recovery => flows.recovery.notify_unknown_recipients,
            Purpose::Verification => flows.verification.notify_unknown_recipients,
        }
        .unwrap_or(false)
    }

    /// The stored kind of a code (`recovery_code`, `verification_link`, …).
    pub fn kind(self, is_link: bool) -> String {
        format!("{}_{}", self.name(), if is_link { "link" } else { "code" })
    }
}

/// Redeem a code (typed into flow `flow_id`) or a link token for `purpose`: the stored code when
/// it is valid, now used; None when it is wrong, expired or used (attempts counted, see
/// [`codes::consume`]).
pub async fn redeem(
    r: &Registry,
    client: Option<&str>,
    purpose: Purpose,
    flow_id: Uuid,
    secret: &str,
    is_link: bool,
) -> Result<Option<crate::persistence::code::StoredCode>> {
    let digest = if is_link {
        codes::link_digest(secret)
    } else {
        codes::code_digest(r, flow_id, secret)
    };
    let kind = purpose.kind(is_link);
    match codes::consume(r, client, flow_id, &kind, &digest, is_link).await? {
        codes::Checked::Valid(code) => Ok(Some(code)),
        codes::Checked::Invalid => Ok(None),
    }
}

/// Store a new code (six digits) or link token for an identity's address on a flow; returns the
/// secret to send. Only its digest is stored.
pub async fn issue(
    r: &Registry,
    purpose: Purpose,
    is_link: bool,
    flow_id: Uuid,
    identity_id: crate::ids::IdentityId,
    address: &str,
    expires_at: DateTime<Utc>,
) -> Result<String> {
    let (secret, digest) = if is_link {
        let token = codes::new_link_token();
        let digest = codes::link_digest(&token);
        (token, digest)
    } else {
        let code = codes::new_code();
        let digest = codes::code_digest(r, flow_id, &code);
        (code, digest)
    };
    let new = NewCode {
        flow_id,
        kind: &purpose.kind(is_link),
        code_hash: &digest,
        identity_id: Some(identity_id),
        address,
        expires_at,
    };
    r.persister.create_code(new, r.clock.now()).await?;
    Ok(secret)
}

/// Send a code (`method` "code") or link ("link") for `address` on flow `flow_id`, whether or not
/// the address is known: known addresses get a fresh secret (the flow's earlier ones are void),
/// unknown ones a notice where `notify_unknown_recipients` says so. Counted against the client's
/// and the recipient's send limits first.
pub async fn send(
    r: &Registry,
    client: Option<&str>,
    purpose: Purpose,
    method: &str,
    flow_id: Uuid,
    address: &str,
) -> Result<()> {
    crate::selfservice::rate_limit::code_send(r, client, address).await?;
    let now = r.clock.now();
    let is_link = method == "link";
    let name = purpose.name();
    let owner = r
        .persister
        .find_identity_by_address(purpose.table(), "email", address)
        .await?;
    r.persister.invalidate_flow_codes(flow_id, now).await?;
    let Some(identity_id) = owner else {
        if purpose.notify_unknown_recipients(r) {
            let template = if is_link {
                format!("{name}_invalid")
            } else {
                format!("{name}_code_invalid")
            };
            crate::courier::queue_email(r, address, &template, &json!({"To": address})).await?;
        }
        return Ok(());
    };
    let expires = now + codes::lifespan(r, method);
    let secret = issue(r, purpose, is_link, flow_id, identity_id, address, expires).await?;
    let param = if is_link { "token" } else { "code" };
    let url = format!(
        "{}/self-service/{name}?flow={flow_id}&{param}={secret}",
        r.public_base
    );
    let (template, data) = match (purpose, is_link) {
        (Purpose::Recovery, true) => ("recovery_valid", json!({"To": address, "RecoveryURL": url})),
        (Purpose::Recovery, false) => (
            "recovery_code_valid",
            json!({"To": address, "RecoveryCode": secret}),
        ),
        (Purpose::Verification, true) => (
            "verification_valid",
            json!({"To": address, "VerificationURL": url}),
        ),
        (Purpose::Verification, false) => (
            "verification_code_valid",
            json!({"To": address, "VerificationCode": secret, "VerificationURL": url}),
        ),
    };
    crate::courier::queue_email(r, address, template, &data).await?;
    if purpose == Purpose::Verification {
        r.sessions()
            .modify_identity(identity_id, |i| i.set_address_status(address, "sent", now))
            .await?;
    }
    Ok(())
}
