//! Session endpoints: whoami (`toSession`), the caller's own sessions (`listMySessions`,
//! `disableMySession`, `disableMyOtherSessions`) and the admin session API.

use super::auth::{authenticate, authenticate_shared, Via};
use super::error::{bytes_response, json_bytes, json_response};
use super::extract::parse_uuid;
use super::identities::query_pairs;
use super::pagination::{self, Keyset};
use super::session_cookie;
use crate::error::{ApiError, Error, Result};
use crate::persistence::session::{ActiveFilter, SessionCursor};
use crate::registry::Registry;
use crate::session::wire::{session_json, sessions_body, Expand};
use crate::session::Session;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

const FULL: Expand = Expand {
    identity: true,
    devices: true,
};

/// whoami's 401: no `error.id`, Kratos's exact reason.
fn no_session_whoami() -> Error {
    ApiError::new(401)
        .with_reason("No valid session credentials found in the request.")
        .into()
}

/// The `/sessions` collection's 401.
fn no_session_cookie() -> Error {
    ApiError::new(401)
        .with_reason("No valid session cookie found.")
        .into()
}

/// `GET|POST|… /sessions/whoami`
pub async fn to_session(
    State(r): State<Registry>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let pairs = query_pairs(&raw);
    if let Some((_, name)) = pairs
        .iter()
        .find(|(k, _)| k == "tokenize_as")
        .filter(|(_, v)| !v.is_empty())
    {
        return Err(Error::bad_request(format!(
            "Unable to find tokenizer template \"{name}\"."
        )));
    }
    let Some((found, token, via)) = authenticate_shared(&r, &headers).await? else {
        let mut err = no_session_whoami();
        if r.config.feature_flags.cacheable_sessions
            && super::auth::credential(&r, &headers).is_none()
        {
            if let Error::Api(e) = &mut err {
                e.headers.push(("ory-session-cache-for", "60".into()));
            }
        }
        return Err(err);
    };
    let now = r.clock.now();
    if !found.session.is_active(now) {
        // Expired between the lookup and now: answered as expired, and never cached as a 200
        // saying `"active": false`.
        return Err(no_session_whoami());
    }
    crate::selfservice::login::check_whoami_aal(&r, &found.session)?;
    let mut reissue =
        matches!(via, Via::Cookie(issued) if issued < found.session.expires_at.timestamp_micros());
    let mut extended = None;
    if r.config.ostiary.session.sliding && r.sessions().can_extend(&found.session) {
        let mut s = found.session.clone();
        if r.sessions().extend(&mut s).await? {
            reissue = matches!(via, Via::Cookie(_));
            extended = Some(s);
        }
    }
    let encode = |s: &Session| json_bytes(&session_json(s, now, &r.public_base, FULL));
    let (session, body) = match &extended {
        Some(s) => (s, encode(s)),
        // The body of a served session depends on nothing but the session: built once per
        // cached entry.
        None => (&found.session, found.body(encode)),
    };
    let mut res = bytes_response(StatusCode::OK, body);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&session.identity_id.to_string()) {
        h.insert("x-kratos-authenticated-identity-id", v);
    }
    if reissue {
        h.append(
            header::SET_COOKIE,
            session_cookie::issue(&r, &token, session.expires_at, now),
        );
    }
    if r.config.feature_flags.cacheable_sessions {
        let mut secs = (session.expires_at - now).num_seconds().max(0);
        if let Some(max) = r.config.feature_flags.cacheable_sessions_max_age {
            let max = max.0.num_seconds();
            if max > 0 {
                secs = secs.min(max);
            }
        }
        h.insert("ory-session-cache-for", HeaderValue::from(secs));
    }
    Ok(res)
}

/// `GET /sessions`: the caller's other active sessions, newest first.
pub async fn list_my_sessions(
    State(r): State<Registry>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let me = authenticate(&r, &headers)
        .await?
        .ok_or_else(no_session_cookie)?;
    crate::selfservice::login::check_whoami_aal(&r, &me.session)?;
    let pairs = query_pairs(&raw);
    let identity = (me.session.identity_id, me.session.identity.as_ref());
    let page = (ActiveFilter::Active, Some(me.session.id));
    let base = format!("{}/sessions", r.public_base);
    identity_sessions_page(&r, identity, page, &pairs, &base).await
}

/// One page of an identity's sessions (`active`, without `except`) with its headers.
async fn identity_sessions_page(
    r: &Registry,
    (identity, known): (crate::ids::IdentityId, Option<&crate::identity::Identity>),
    page: (ActiveFilter, Option<crate::ids::SessionId>),
    pairs: &[(String, String)],
    base: &str,
) -> Result<Response> {
    let (offset, size) = pagination::migration_page(pairs);
    let now = r.clock.now();
    let (sessions, total) = r
        .sessions()
        .list_of(identity, known, page, offset, size)
        .await?;
    let res = bytes_response(
        StatusCode::OK,
        sessions_body(&sessions, now, &r.public_base, FULL),
    );
    let page = (offset, size);
    Ok(pagination::with_migration_links(
        res, base, pairs, page, total,
    ))
}

/// `DELETE /sessions`: revoke every other session of the caller; `{"count": n}`.
pub async fn disable_my_other_sessions(
    State(r): State<Registry>,
    headers: HeaderMap,
) -> Result<Response> {
    let me = authenticate(&r, &headers)
        .await?
        .ok_or_else(no_session_cookie)?;
    let n = r
        .sessions()
        .revoke_others(me.session.identity_id, me.session.id)
        .await?
        .ok_or_else(no_session_cookie)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "count": n }),
    ))
}

/// `DELETE /sessions/{id}`: revoke one of the caller's other sessions (204 even when the id is
/// unknown or belongs to another identity, which is left untouched).
pub async fn disable_my_session(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: RawQuery,
) -> Result<Response> {
    if id == "whoami" {
        return to_session(State(r), headers, raw).await;
    }
    let me = authenticate(&r, &headers)
        .await?
        .ok_or_else(no_session_cookie)?;
    let id = parse_uuid(&id)?;
    if id == me.session.id {
        return Err(ApiError::new(400)
            .with_message("cannot revoke current session")
            .with_debug("use the logout flow instead")
            .into());
    }
    r.sessions().revoke_of(me.session.identity_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn parse_active(pairs: &[(String, String)]) -> Result<ActiveFilter> {
    match pairs
        .iter()
        .find(|(k, _)| k == "active")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => Ok(ActiveFilter::Any),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "t" => Ok(ActiveFilter::Active),
            "false" | "0" | "f" => Ok(ActiveFilter::Inactive),
            _ => Err(Error::bad_request("could not parse parameter active")),
        },
    }
}

fn parse_expand(pairs: &[(String, String)]) -> Result<Expand> {
    let mut e = Expand {
        identity: false,
        devices: false,
    };
    for (_, v) in pairs.iter().filter(|(k, _)| k == "expand") {
        match v.to_ascii_lowercase().as_str() {
            "identity" => e.identity = true,
            "devices" => e.devices = true,
            _ => {
                return Err(Error::bad_request(format!(
                    "Could not parse expand option: {v}"
                )))
            }
        }
    }
    Ok(e)
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

fn encode_cursor(c: &SessionCursor) -> String {
    B64.encode(format!("created_at={}/id={}", c.created_at, c.id))
}

fn decode_cursor(t: &str) -> Result<SessionCursor> {
    let bad = pagination::invalid_token;
    let text = String::from_utf8(B64.decode(t.trim_end_matches('=')).map_err(|_| bad())?)
        .map_err(|_| bad())?;
    let mut created_at = None;
    let mut id = None;
    for part in text.split('/') {
        match part.split_once('=') {
            Some(("created_at", v)) => created_at = v.parse::<i64>().ok(),
            Some(("id", v)) => id = v.parse().ok(),
            _ => return Err(bad()),
        }
    }
    Ok(SessionCursor {
        created_at: created_at.ok_or_else(bad)?,
        id: id.ok_or_else(bad)?,
    })
}

/// `GET /admin/sessions`: keyset over `created_at DESC, id ASC`.
pub async fn list_sessions(State(r): State<Registry>, RawQuery(raw): RawQuery) -> Result<Response> {
    let pairs = query_pairs(&raw);
    let active = parse_active(&pairs)?;
    let expand = parse_expand(&pairs)?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let keyset = Keyset::parse(get("page_size"), get("page_token"), 250, 1000)?;
    let cursor = keyset.token.as_deref().map(decode_cursor).transpose()?;
    let now = r.clock.now();
    let (sessions, has_more) = r
        .sessions()
        .list_page(
            active,
            cursor.as_ref(),
            keyset.size,
            expand.identity,
            expand.devices,
        )
        .await?;
    let next = has_more
        .then(|| {
            sessions.last().map(|s| {
                encode_cursor(&SessionCursor {
                    created_at: s.created_at.timestamp_micros(),
                    id: s.id,
                })
            })
        })
        .flatten();
    let res = bytes_response(
        StatusCode::OK,
        sessions_body(&sessions, now, &r.public_base, expand),
    );
    let base = format!("{}/admin/sessions", r.admin_base);
    Ok(pagination::with_keyset_link(
        res,
        &base,
        &pairs,
        keyset.size,
        next.as_deref(),
    ))
}

/// `GET /admin/sessions/{id}` (`whoami` is redirected to the public whoami).
pub async fn get_session(
    State(r): State<Registry>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    if id == "whoami" {
        return Ok(redirect_307(&format!("{}/sessions/whoami", r.public_base)));
    }
    let id = parse_uuid(&id)?;
    let pairs = query_pairs(&raw);
    let expand = parse_expand(&pairs)?;
    let mut session = r.sessions().get(id).await?.ok_or_else(Error::not_found)?;
    if !expand.devices {
        session.devices.clear();
    }
    let now = r.clock.now();
    let mut body = session_json(&session, now, &r.public_base, expand);
    if !expand.identity {
        // `active` still accounts for the identity's state even when it is not shown.
        body["active"] = Value::Bool(session.is_active(now));
    }
    Ok(json_response(StatusCode::OK, &body))
}

pub fn redirect_307(location: &str) -> Response {
    let mut res = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `DELETE /admin/sessions/{id}`: revoke (row kept); 404 for an unknown id.
pub async fn disable_session(
    State(r): State<Registry>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id)?;
    if r.sessions().revoke(id).await? == 0 {
        return Err(Error::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /admin/sessions/{id}/extend`: 200 + session (or 204 with `faster_session_extend`).
pub async fn extend_session(State(r): State<Registry>, Path(id): Path<String>) -> Result<Response> {
    let id = parse_uuid(&id)?;
    let mut session = r.sessions().get(id).await?.ok_or_else(Error::not_found)?;
    let now = r.clock.now();
    r.sessions().extend(&mut session).await?;
    if r.config.feature_flags.faster_session_extend {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let expand = Expand {
        identity: true,
        devices: false,
    };
    Ok(json_response(
        StatusCode::OK,
        &session_json(&session, now, &r.public_base, expand),
    ))
}

/// `GET /admin/identities/{id}/sessions`
pub async fn list_identity_sessions(
    State(r): State<Registry>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let id = parse_uuid(&id)?;
    let pairs = query_pairs(&raw);
    let active = parse_active(&pairs)?;
    let base = format!("{}/admin/identities/{id}/sessions", r.admin_base);
    identity_sessions_page(&r, (id, None), (active, None), &pairs, &base).await
}

/// `DELETE /admin/identities/{id}/sessions`: delete them all; 404 when there were none.
pub async fn delete_identity_sessions(
    State(r): State<Registry>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id)?;
    if r.sessions().delete_all(id).await? == 0 {
        return Err(Error::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /sessions/token-exchange`: native apps exchange the codes of a browser-based login for a
/// session token. Ostiary issues no exchange codes yet (they come with social sign-in), so every
/// pair is unknown; the answers match Kratos's for a missing parameter and an unknown pair.
pub async fn exchange_session_token(RawQuery(raw): RawQuery) -> Result<Response> {
    let pairs = query_pairs(&raw);
    let has = |k: &str| pairs.iter().any(|(key, v)| key == k && !v.is_empty());
    if !has("init_code") || !has("return_to_code") {
        return Err(Error::bad_request(
            r#""init_code" and "return_to_code" query params must be set"#,
        ));
    }
    Err(Error::not_found_reason(r#"no session yet for this "code""#))
}
