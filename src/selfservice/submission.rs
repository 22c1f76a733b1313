//! What login and registration do with every submission once its CSRF token and the flow's
//! expiry are checked, before the method sees it.

use super::flow::{Flow, FlowState};
use super::request::{refuse_browser_signal, FlowRequest};
use super::strategy::{self, Strategy, Submission};
use super::text;
use super::ui::Message;
use crate::error::Result;
use crate::registry::Registry;

/// The method a submission names, made the flow's active one (with the submission's transient
/// payload). None when the flow is to be answered as it is, the reason on it: a submission a
/// browser flow must refuse, a flow completed already, or no such method (`missing`; the flow is
/// saved with it).
pub async fn method_for(
    r: &Registry,
    req: &FlowRequest,
    f: &mut Flow,
    body: &Submission,
    missing: Message,
) -> Result<Option<&'static dyn Strategy>> {
    f.ui.reset_messages();
    if refuse_browser_signal(f, req) {
        return Ok(None);
    }
    if f.state == FlowState::PassedChallenge {
        f.ui.messages.push(text::already_completed());
        return Ok(None);
    }
    // Some fields name their method by themselves (a WebAuthn or passkey answer).
    let claimed = strategy::for_flow(r, f).find(|s| s.claims(&body.fields));
    let named = claimed.map(|s| s.id()).or(body.method.as_deref());
    let Some(method) = strategy::find(r, f, named) else {
        f.ui.messages.push(missing);
        f.save(r).await?;
        return Ok(None);
    };
    f.active = Some(method.id().into());
    f.transient_payload = body.transient_payload.clone();
    Ok(Some(method))
}
