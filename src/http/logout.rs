//! Logout: `performNativeLogout` (a session token in the body), `createBrowserLogoutFlow` (a logout
//! URL for the caller's session) and `updateLogoutFlow` (following that URL).

use super::auth::{authenticate, Via};
use super::error::json_response;
use super::extract::is_json_request;
use super::extract::KBytes;
use super::flow_request::{error_response, see_other};
use super::identities::query_pairs;
use super::session_cookie;
use crate::error::{ApiError, Error, Result};
use crate::registry::Registry;
use crate::selfservice::{csrf, return_to};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// `DELETE /self-service/logout/api` with `{"session_token": …}`: 204, also when already revoked.
pub async fn perform_native_logout(
    State(r): State<Registry>,
    headers: HeaderMap,
    KBytes(body): KBytes,
) -> Result<Response> {
    let is_json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if !is_json_ct || body.is_empty() {
        return Err(Error::bad_request(
            "The request body must be a JSON object with a session_token (Content-Type: application/json).",
        ));
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| Error::bad_request(format!("Unable to decode the JSON body: {e}")))?;
    let token = match v.get("session_token") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(Error::bad_request("session_token must be a string.")),
    };
    let found = r.sessions().logout_by_token(&token).await?;
    if !found {
        return Err(ApiError::new(403)
            .with_reason("The provided Ory Session Token could not be found, is invalid, or otherwise malformed.")
            .into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn no_session() -> Error {
    Error::session_inactive("No active session was found in this request.")
}

/// `GET /self-service/logout/browser`: a logout URL and token bound to the caller's session.
pub async fn create_browser_logout_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let is_json = is_json_request(&headers);
    let result = async {
        let me = authenticate(&r, &headers).await?.ok_or_else(no_session)?;
        let pairs = query_pairs(&raw);
        let return_to = pairs
            .iter()
            .find(|(k, _)| k == "return_to")
            .map(|(_, v)| v.as_str());
        let return_to = return_to::checked_return_to(&r, return_to)?;
        let logout_token = r.sessions().new_logout_token(me.session.id).await?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(rt) = &return_to {
            query.append_pair("return_to", rt);
        }
        query.append_pair("token", &logout_token);
        let url = format!("{}/self-service/logout?{}", r.public_base, query.finish());
        Ok::<_, Error>(json!({"logout_token": logout_token, "logout_url": url}))
    }
    .await;
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => error_response(&r, e, is_json).await,
    }
}

/// `GET /self-service/logout?token=…&return_to=…`: end the session, clear the cookie, redirect.
pub async fn update_logout_flow(
    State(r): State<Registry>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let is_json = is_json_request(&headers);
    let pairs = query_pairs(&raw);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let result = async {
        let token = get("token").filter(|t| !t.is_empty()).ok_or_else(|| Error::bad_request("Please include a token in the URL query."))?;
        let me = authenticate(&r, &headers).await?.ok_or_else(no_session)?;
        if !r.sessions().logout_with_token(me.session.id, &token).await? {
            return Err(Error::forbidden(
                "Unable to log out because the logout token in the URL query does not match the session cookie.",
            ));
        }
        let mut cookies = vec![session_cookie::csrf_cookie(&r, &csrf::new_secret())];
        if matches!(me.via, Via::Cookie(_)) || session_cookie::from_request(&r, &headers).is_some() {
            cookies.push(session_cookie::clear(&r));
        }
        // As Kratos: return_to is checked after the session is gone.
        let dest = match return_to::checked_return_to(&r, get("return_to").as_deref()) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Ok(r
                .config
                .selfservice
                .flows
                .logout
                .after
                .default_browser_return_url
                .clone()
                .or_else(|| r.config.selfservice.default_browser_return_url.clone())
                .unwrap_or_else(|| format!("{}/", r.public_base))),
            Err(e) => Err(e),
        };
        Ok::<_, Error>((dest, cookies))
    }
    .await;
    match result {
        Ok((dest, cookies)) => {
            let mut res = match dest {
                Ok(_) if is_json => StatusCode::NO_CONTENT.into_response(),
                Ok(d) => see_other(&d),
                Err(e) => error_response(&r, e, is_json).await,
            };
            for c in cookies {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            res
        }
        Err(e) => error_response(&r, e, is_json).await,
    }
}
