//! The methods of the recovery and verification flows (Kratos's recovery and verification
//! strategies): `code` (a one-time code typed back into the flow) and `link` (a link that comes
//! back through its URL). Each flow uses the one its `selfservice.flows.<flow>.use` names. A method
//! draws the flow's form before and after sending; sending itself is [`super::code::send`], the
//! same for both; what a submission asks for is [`step`], the same for both flows.
//!
//! Owns: the nodes and messages of the code and link methods, and the reading of a recovery or
//! verification submission. Must not: issue sessions or move a flow's state.

use super::code::Purpose;
use crate::error::Result;
use crate::identity::manager::normalize_address;
use crate::registry::Registry;
use crate::selfservice::flow::{Flow, FlowState, FlowType, Kind};
use crate::selfservice::request::FlowRequest;
use crate::selfservice::text;
use crate::selfservice::ui::{Message, Node};

/// One method of recovery and verification.
pub trait AddressMethod: Send + Sync {
    /// `code` or `link`: the `method` of a submission and the `group` of its nodes.
    fn id(&self) -> &'static str;

    /// Whether a submission's `code` field is checked by this method (a link comes back through
    /// its URL instead).
    fn takes_codes(&self) -> bool;

    /// The form of a new flow: the address to send to and the submit button (after the CSRF
    /// token, which every form keeps).
    fn choose(&self, f: &mut Flow) {
        let m = self.id();
        f.ui.nodes.retain(|n| n.name() == "csrf_token");
        f.ui.nodes.push(
            Node::input(m, "email", "email")
                .required()
                .label(text::email_label()),
        );
        f.ui.nodes.push(
            Node::input(m, "method", "submit")
                .value(m)
                .label(text::submit_label()),
        );
    }

    /// The form and message once something went to `address` (`None`: shown again after a
    /// wrong code, without the resend button recovery offers).
    fn sent(&self, purpose: Purpose, f: &mut Flow, address: Option<&str>);
}

/// A six-digit code sent by email and typed back into the flow.
pub struct Code;

/// A link sent by email, opened in the browser.
pub struct Link;

impl AddressMethod for Code {
    fn id(&self) -> &'static str {
        "code"
    }

    fn takes_codes(&self) -> bool {
        true
    }

    fn sent(&self, purpose: Purpose, f: &mut Flow, address: Option<&str>) {
        f.ui.nodes.retain(|n| n.name() == "csrf_token");
        let code = |label| {
            Node::input("code", "code", "text")
                .required()
                .attr("pattern", "[0-9]+")
                .attr("maxlength", 6)
                .label(label)
        };
        let resend = |a: &str| {
            Node::input("code", "email", "submit")
                .value(a)
                .label(text::resend_label())
        };
        match purpose {
            Purpose::Recovery => {
                f.ui.nodes.push(code(text::recovery_code_label()));
                f.ui.nodes
                    .push(Node::input("code", "method", "hidden").value("code"));
                f.ui.nodes.push(
                    Node::input("code", "method", "submit")
                        .value("code")
                        .label(text::submit_label()),
                );
                if let Some(a) = address {
                    f.ui.nodes.push(resend(a));
                    f.ui.messages.push(text::recovery_code_sent());
                }
            }
            Purpose::Verification => {
                let a = address.unwrap_or_default();
                f.ui.nodes.push(code(text::verification_code_label()));
                f.ui.nodes
                    .push(Node::input("code", "email", "hidden").value(a));
                f.ui.nodes.push(
                    Node::input("code", "method", "submit")
                        .value("code")
                        .label(Message::info(1070006, "Verify code")),
                );
                f.ui.nodes.push(resend(a));
                f.ui.messages.push(text::verification_code_sent());
            }
        }
    }
}

impl AddressMethod for Link {
    fn id(&self) -> &'static str {
        "link"
    }

    fn takes_codes(&self) -> bool {
        false
    }

    fn sent(&self, purpose: Purpose, f: &mut Flow, address: Option<&str>) {
        match purpose {
            // Recovery keeps the form as it was.
            Purpose::Recovery => f.ui.messages.push(text::recovery_link_sent()),
            Purpose::Verification => {
                f.ui.nodes.retain(|n| n.name() == "csrf_token");
                f.ui.nodes.push(
                    Node::input("link", "email", "email")
                        .required()
                        .value(address.unwrap_or_default())
                        .label(text::email_label()),
                );
                f.ui.nodes.push(
                    Node::input("link", "method", "submit")
                        .value("link")
                        .label(text::resend_label()),
                );
                f.ui.messages.push(text::verification_link_sent());
            }
        }
    }
}

/// The method a flow uses: `selfservice.flows.<flow>.use` (`code` unless it says `link`).
pub fn in_use(r: &Registry, purpose: Purpose) -> &'static dyn AddressMethod {
    let flows = &r.config.selfservice.flows;
    let configured = match purpose {
        Purpose::Recovery => flows.recovery.use_method.as_deref(),
        Purpose::Verification => flows.verification.use_method.as_deref(),
    };
    match configured {
        Some("link") => &Link,
        _ => &Code,
    }
}

/// A new recovery or verification flow (stored), showing the form of the method in use.
pub async fn new_flow(
    r: &Registry,
    req: &FlowRequest,
    purpose: Purpose,
    flow_type: FlowType,
    return_to: Option<String>,
) -> Result<Flow> {
    let kind = match purpose {
        Purpose::Recovery => Kind::Recovery,
        Purpose::Verification => Kind::Verification,
    };
    let mut f = Flow::new(r, kind, flow_type, req.url.clone(), return_to);
    f.guard(req.csrf_cookie.clone());
    in_use(r, purpose).choose(&mut f);
    f.save(r).await?;
    Ok(f)
}

/// Send a code or link for `address` on flow `f` with the method in use, whether or not the
/// address is known, and show the form that follows.
pub async fn send(
    r: &Registry,
    client: Option<&str>,
    purpose: Purpose,
    f: &mut Flow,
    address: &str,
) -> Result<()> {
    let m = in_use(r, purpose);
    super::code::send(r, client, purpose, m.id(), f.id, address).await?;
    f.state = FlowState::SentEmail;
    f.active = Some(m.id().into());
    m.sent(purpose, f, Some(address));
    Ok(())
}

/// A recovery or verification submission.
#[derive(Debug, Default)]
pub struct Submission {
    pub method: Option<String>,
    pub email: Option<String>,
    pub code: Option<String>,
    pub csrf_token: Option<String>,
}

impl Submission {
    /// The submission's fields from its body (JSON, or a form already turned into JSON).
    pub fn read(fields: &super::Fields) -> Submission {
        Submission {
            method: super::field(fields, "method"),
            email: super::field(fields, "email"),
            code: super::field(fields, "code"),
            csrf_token: super::field(fields, "csrf_token"),
        }
    }
}

/// What a submission asks for, once CSRF and expiry have been checked.
pub enum Step {
    /// Check this code (the method takes codes and one was sent on this flow).
    Check(String),
    /// Send to this (normalised) address.
    Send(String),
    /// Nothing to do: the reason is on the flow (a wrong method, a missing or invalid field).
    Invalid,
    /// The flow was completed already: the message says so, the stored flow stays as it was.
    Done,
}

/// Read a submission for the method in use. A flow that already passed its challenge is not
/// done again (`done` is the flow's "already completed" message id); with `strict`, a submission
/// naming another method is refused (as verification does).
pub fn step(
    m: &dyn AddressMethod,
    f: &mut Flow,
    body: &Submission,
    done: u32,
    strict: bool,
) -> Step {
    f.ui.reset_messages();
    if f.state == FlowState::PassedChallenge {
        f.ui.messages.push(Message::error(
            done,
            "The request was already completed successfully and can not be retried.",
        ));
        return Step::Done;
    }
    if strict && body.method.as_deref().is_some_and(|x| x != m.id()) {
        f.ui.messages.push(Message::error(
            4010006,
            "Could not find a strategy to verify your account with. Did you fill out the form correctly?",
        ));
        return Step::Invalid;
    }
    let present = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    match (present(&body.code), present(&body.email)) {
        (Some(code), _) if f.state == FlowState::SentEmail && m.takes_codes() => Step::Check(code),
        (_, Some(email)) => {
            let address = normalize_address("email", &email);
            if address.contains('@') {
                Step::Send(address)
            } else {
                f.ui.add_node_message(
                    "email",
                    Message::error(4000040, "Enter a valid email address"),
                );
                Step::Invalid
            }
        }
        _ => {
            f.ui.add_node_message("email", text::missing("email"));
            Step::Invalid
        }
    }
}
