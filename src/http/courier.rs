//! `listCourierMessages` and `getCourierMessage`: the queued mail, bodies hidden outside dev mode.

use super::error::json_response;
use super::extract::parse_uuid;
use super::identities::query_pairs;
use super::pagination::{self, Keyset};
use crate::error::{Error, Result};
use crate::persistence::courier::{Dispatch, Message};
use crate::registry::Registry;
use crate::time::rfc3339;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};

const REDACTED: &str = "<redacted-unless-dev-mode>";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn message_json(r: &Registry, m: &Message, dispatches: Option<&[Dispatch]>) -> Value {
    let (subject, body) = if r.config.dev {
        (m.subject.clone(), m.body.clone())
    } else {
        (REDACTED.to_string(), REDACTED.to_string())
    };
    let mut v = json!({
        "id": m.id,
        "status": m.status,
        "type": m.kind,
        "recipient": m.recipient,
        "body": body,
        "subject": subject,
        "template_type": m.template_type,
        "channel": m.channel,
        "send_count": m.send_count,
        "created_at": rfc3339(&m.created_at),
        "updated_at": rfc3339(&m.updated_at),
    });
    if let Some(d) = dispatches {
        v["dispatches"] = d
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "message_id": d.message_id,
                    "status": d.status,
                    "error": d.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()).unwrap_or(Value::Null),
                    "created_at": rfc3339(&d.created_at),
                    "updated_at": rfc3339(&d.created_at),
                })
            })
            .collect();
    }
    v
}

/// `GET /admin/courier/messages`
pub async fn list_courier_messages(
    State(r): State<Registry>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let pairs = query_pairs(&raw);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let status = get("status");
    if let Some(s) = status {
        if !["queued", "sent", "processing", "abandoned"].contains(&s) {
            return Err(Error::bad_request(format!(
                "Message status \"{s}\" is not a valid message status."
            )));
        }
    }
    let keyset = Keyset::parse(get("page_size"), get("page_token"), 250, 1000)?;
    let after = match keyset.token.as_deref() {
        None => None,
        Some(t) => {
            let text = B64
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(pagination::invalid_token)?;
            let (c, id) = text.split_once('/').ok_or_else(pagination::invalid_token)?;
            Some((
                c.parse::<i64>().map_err(|_| pagination::invalid_token())?,
                uuid::Uuid::parse_str(id).map_err(|_| pagination::invalid_token())?,
            ))
        }
    };
    let mut list = r
        .persister
        .list_messages(status, get("recipient"), after, keyset.size + 1)
        .await?;
    let next = pagination::cut_page(&mut list, keyset.size, |m| {
        B64.encode(format!("{}/{}", m.created_at.timestamp_micros(), m.id))
    });
    let body: Vec<Value> = list.iter().map(|m| message_json(&r, m, None)).collect();
    let res = json_response(StatusCode::OK, &Value::Array(body));
    let base = format!("{}/admin/courier/messages", r.admin_base);
    Ok(pagination::with_keyset_link(
        res,
        &base,
        &pairs,
        keyset.size,
        next.as_deref(),
    ))
}

/// `GET /admin/courier/messages/{id}`
pub async fn get_courier_message(
    State(r): State<Registry>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id)?;
    let (m, d) = r
        .persister
        .get_message(id)
        .await?
        .ok_or_else(Error::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &message_json(&r, &m, Some(&d)),
    ))
}
