//! Admin identity API handlers: list, create, get, get by external id, update (PUT), patch (JSON
//! Patch), batch create, delete, and delete credentials.

use super::error::json_response;
use super::extract::{parse_uuid, KJson};
use super::pagination::{self, Keyset};
use crate::error::{Error, Result};
use crate::identity::admin;
pub use crate::identity::admin::{CreateIdentityBody, UpdateIdentityBody};
use crate::identity::manager;
use crate::identity::wire::{identity_json, View};
use crate::identity::{normalize_identifier, Identity, CREDENTIAL_TYPES};
use crate::persistence::identity::IdentityQuery;
use crate::registry::Registry;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// Build, validate and store a new identity from a create body.
pub async fn create_from_body(r: &Registry, body: CreateIdentityBody) -> Result<Identity> {
    let identity = admin::build(&r.schemas, &r.hasher, body, r.clock.now()).await?;
    r.persister.create_identity(&identity).await?;
    Ok(identity)
}

fn admin_view(r: &Registry, i: &Identity, include: &[String]) -> Value {
    identity_json(
        i,
        &r.public_base,
        View::Admin {
            include_credential: include,
        },
    )
}

/// Parse `include_credential` values, refusing unknown credential types.
fn include_credentials(pairs: &[(String, String)]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        if k == "include_credential" {
            if !CREDENTIAL_TYPES.contains(&v.as_str()) {
                return Err(Error::bad_request(format!(
                    "The credential type {v:?} is not valid."
                )));
            }
            out.push(v.clone());
        }
    }
    Ok(out)
}

pub fn query_pairs(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The filters of `GET /admin/identities`, checked in Kratos's order with Kratos's texts.
#[derive(Debug, Default, PartialEq)]
struct ListFilters {
    ids: Vec<crate::ids::IdentityId>,
    organization: Option<Uuid>,
    identifier: Option<String>,
    similar: Option<String>,
    include: Vec<String>,
}

/// Most ids one list request may name.
const MAX_IDS_FILTER: usize = 500;

fn parse_list_filters(pairs: &[(String, String)]) -> Result<ListFilters> {
    let mut f = ListFilters::default();
    let mut requested = 0;
    // Every `ids` value must be a UUID, the empty one included.
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.as_str())
        .collect();
    if !ids.is_empty() {
        requested += 1;
        for v in ids {
            f.ids.push(v.parse().map_err(|_| {
                Error::bad_request(format!("Invalid UUID value `{v}` for parameter `ids`."))
            })?);
        }
    }
    if f.ids.len() > MAX_IDS_FILTER {
        return Err(Error::bad_request(
            "The number of ids to filter must not exceed 500.",
        ));
    }
    // The other filters read only their first value, and an empty one is no filter.
    if let Some(org) = first(pairs, "organization_id").filter(|s| !s.is_empty()) {
        requested += 1;
        f.organization = Some(Uuid::parse_str(org).map_err(|_| {
            Error::bad_request(format!(
                "Invalid UUID value `{org}` for parameter `organization_id`."
            ))
        })?);
    }
    if let Some(idf) = first(pairs, "credentials_identifier").filter(|s| !s.is_empty()) {
        requested += 1;
        f.identifier = Some(idf.to_string());
    }
    if let Some(s) =
        first(pairs, "preview_credentials_identifier_similar").filter(|s| !s.is_empty())
    {
        requested += 1;
        f.similar = Some(s.to_string());
    }
    for (k, v) in pairs {
        if k == "include_credential" {
            if !CREDENTIAL_TYPES.contains(&v.as_str()) {
                return Err(Error::bad_request(format!(
                    "Invalid value `{v}` for parameter `include_credential`."
                )));
            }
            f.include.push(v.clone());
        }
    }
    if requested > 1 {
        return Err(Error::bad_request(
            "You cannot combine multiple filters in this API",
        ));
    }
    Ok(f)
}

/// The text Go's `strconv.Atoi` gives for a value that is not an int (Kratos answers it as the
/// reason for a bad `page_size`).
fn atoi_error(v: &str) -> Error {
    let why = match v.parse::<i64>() {
        Err(e)
            if matches!(
                e.kind(),
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
            ) =>
        {
            "value out of range"
        }
        _ => "invalid syntax",
    };
    Error::bad_request(format!("strconv.Atoi: parsing {}: {why}", go_quote(v)))
}

/// A string quoted as Go's `strconv.Quote` does.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() && (c as u32) <= 0xffff => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `GET /admin/identities`
pub async fn list_identities(
    AxState(r): AxState<Registry>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let pairs = query_pairs(&raw);
    let ListFilters {
        ids,
        organization,
        identifier,
        similar,
        include,
    } = parse_list_filters(&pairs)?;
    let mut q = IdentityQuery {
        ids,
        organization_id: organization,
        with_credentials: true,
        ..Default::default()
    };
    if let Some(idf) = identifier.as_deref() {
        let normalized = normalize_identifier("password", idf);
        q.credentials_identifier = vec![idf.to_string()];
        if normalized != idf {
            q.credentials_identifier.push(normalized);
        }
    }
    if let Some(prefix) = similar.as_deref() {
        q.identifier_prefix = Some(normalize_identifier("password", prefix));
    }
    let legacy_page = first(&pairs, "page").is_some()
        && first(&pairs, "page_token").is_none()
        && first(&pairs, "page_size").is_none();
    let base = format!("{}/admin/identities", r.admin_base);
    if legacy_page {
        let page: i64 = first(&pairs, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
            .max(0);
        let per_page: i64 = first(&pairs, "per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(250)
            .clamp(1, 500);
        if page.checked_mul(per_page).is_none_or(|n| n > 1000) {
            return Err(Error::bad_request(
                "Legacy pagination is not supported for enumerating over 1000 items. Please switch to using page_token and page_size.",
            ));
        }
        q.limit = per_page;
        q.offset = Some(page.saturating_mul(per_page));
        let list = r.persister.list_identities(&q).await?;
        let total = r.persister.count_identities().await?;
        let body: Vec<Value> = list.iter().map(|i| admin_view(&r, i, &include)).collect();
        let mut res = json_response(StatusCode::OK, &Value::Array(body));
        let link = pagination::page_link(&base, &pairs, page, per_page, total);
        let h = res.headers_mut();
        h.insert("x-total-count", HeaderValue::from(total));
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.insert("link", v);
        }
        return Ok(res);
    }
    let size_key = if first(&pairs, "page_size").is_some() {
        "page_size"
    } else {
        "per_page"
    };
    // Kratos parses a page size with Go's `strconv.Atoi` and answers its error text.
    if let Some(v) = first(&pairs, size_key).filter(|v| !v.is_empty()) {
        if v.parse::<i64>().is_err() {
            return Err(atoi_error(v));
        }
    }
    let keyset = Keyset::parse(
        first(&pairs, size_key),
        first(&pairs, "page_token"),
        250,
        500,
    )?;
    q.limit = keyset.size + 1;
    q.after_id = keyset
        .token
        .as_deref()
        .map(|t| Uuid::parse_str(t).map_err(|_| pagination::invalid_token()))
        .transpose()?;
    let mut list = r.persister.list_identities(&q).await?;
    let next = pagination::cut_page(&mut list, keyset.size, |i| i.id.to_string());
    let body: Vec<Value> = list.iter().map(|i| admin_view(&r, i, &include)).collect();
    let res = json_response(StatusCode::OK, &Value::Array(body));
    Ok(pagination::with_keyset_link(
        res,
        &base,
        &pairs,
        keyset.size,
        next.as_deref(),
    ))
}

/// `POST /admin/identities`
pub async fn create_identity(
    AxState(r): AxState<Registry>,
    KJson(body): KJson<CreateIdentityBody>,
) -> Result<Response> {
    let identity = create_from_body(&r, body).await?;
    let mut res = json_response(StatusCode::CREATED, &admin_view(&r, &identity, &[]));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}/admin/identities/{}",
        r.admin_base, identity.id
    )) {
        res.headers_mut().insert("location", v);
    }
    Ok(res)
}

/// `GET /admin/identities/{id}`
pub async fn get_identity(
    AxState(r): AxState<Registry>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let id = parse_uuid(&id)?;
    let include = include_credentials(&query_pairs(&raw))?;
    let identity = r
        .persister
        .get_identity(id, true)
        .await?
        .ok_or_else(Error::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &admin_view(&r, &identity, &include),
    ))
}

/// `GET /admin/identities/by/external/{externalID}`
pub async fn get_identity_by_external_id(
    AxState(r): AxState<Registry>,
    Path(external_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let include = include_credentials(&query_pairs(&raw))?;
    let identity = r
        .persister
        .get_identity_by_external_id(&external_id, true)
        .await?
        .ok_or_else(Error::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &admin_view(&r, &identity, &include),
    ))
}

/// `PUT /admin/identities/{id}`: full replacement of traits and metadata.
pub async fn update_identity(
    AxState(r): AxState<Registry>,
    Path(id): Path<String>,
    KJson(body): KJson<UpdateIdentityBody>,
) -> Result<Response> {
    retry_stale(|| put_once(&r, &id, body.clone())).await
}

/// Run an admin read-modify-write again when a concurrent write came between its read and its
/// write (optimistic concurrency): the admin's change is applied to the fresh identity, and
/// neither write is lost.
async fn retry_stale<F, Fut>(mut once: F) -> Result<Response>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Response>>,
{
    use crate::session::identity_writes::{stale_backoff, STALE_TRIES};
    for n in 1..STALE_TRIES {
        match once().await {
            Err(Error::Stale) => stale_backoff(n).await,
            other => return other,
        }
    }
    once().await
}

async fn put_once(r: &Registry, id: &str, body: UpdateIdentityBody) -> Result<Response> {
    let (mut identity, now) = load_for_change(r, id).await?;
    admin::replace(&mut identity, body, &r.hasher, now).await?;
    store_changed(r, identity, now).await
}

/// The identity an admin changes, and the time of the change.
async fn load_for_change(
    r: &Registry,
    id: &str,
) -> Result<(Identity, chrono::DateTime<chrono::Utc>)> {
    let id = parse_uuid(id)?;
    let identity = r
        .persister
        .get_identity(id, true)
        .await?
        .ok_or_else(Error::not_found)?;
    Ok((identity, r.clock.now()))
}

/// Validate and store an admin's change (refused as stale when another write came first), and
/// answer with the identity.
async fn store_changed(
    r: &Registry,
    mut identity: Identity,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Response> {
    identity.updated_at = now;
    manager::prepare(&r.schemas, &mut identity, now)?;
    if !r.sessions().update_identity(&identity).await? {
        return Err(Error::not_found());
    }
    Ok(json_response(
        StatusCode::OK,
        &admin_view(r, &identity, &[]),
    ))
}

/// `PATCH /admin/identities/{id}`: RFC 6902 JSON Patch on the admin representation.
pub async fn patch_identity(
    AxState(r): AxState<Registry>,
    Path(id): Path<String>,
    KJson(patch): KJson<Value>,
) -> Result<Response> {
    retry_stale(|| patch_once(&r, &id, patch.clone())).await
}

async fn patch_once(r: &Registry, id: &str, patch: Value) -> Result<Response> {
    let (mut identity, now) = load_for_change(r, id).await?;
    admin::patch(&mut identity, patch, &r.public_base, now)?;
    store_changed(r, identity, now).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    identities: Option<Vec<BatchItem>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    create: Option<Value>,
    patch_id: Option<Uuid>,
}

/// `PATCH /admin/identities`: create many identities, reporting each outcome.
pub async fn batch_patch_identities(
    AxState(r): AxState<Registry>,
    KJson(body): KJson<BatchBody>,
) -> Result<Response> {
    let items = body.identities.unwrap_or_default();
    if items.len() > 1000 {
        return Err(Error::bad_request(
            "The maximum number of identities per batch is 1000.",
        ));
    }
    let plaintext = items
        .iter()
        .filter(|i| {
            i.create
                .as_ref()
                .and_then(|c| c.pointer("/credentials/password/config/password"))
                .is_some()
        })
        .count();
    if plaintext > 200 {
        return Err(Error::bad_request(
            "The maximum number of identities with plaintext passwords per batch is 200.",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let result = match item.create {
            None => Err(Error::bad_request("The patch has no create payload.")),
            Some(create) => match serde_json::from_value::<CreateIdentityBody>(create) {
                Err(e) => Err(Error::bad_request(format!(
                    "Unable to decode the identity: {e}"
                ))),
                Ok(body) => create_from_body(&r, body).await,
            },
        };
        let mut entry = serde_json::Map::new();
        match result {
            Ok(identity) => {
                entry.insert("action".into(), json!("create"));
                entry.insert("identity".into(), json!(identity.id));
            }
            Err(e) => {
                let api = super::error::to_api(e);
                entry.insert("action".into(), json!("error"));
                entry.insert(
                    "error".into(),
                    super::error::error_body(&api, None)["error"].clone(),
                );
            }
        }
        if let Some(p) = item.patch_id {
            entry.insert("patch_id".into(), json!(p));
        }
        out.push(Value::Object(entry));
    }
    Ok(json_response(StatusCode::OK, &json!({ "identities": out })))
}

/// `DELETE /admin/identities/{id}`
pub async fn delete_identity(
    AxState(r): AxState<Registry>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = parse_uuid(&id)?;
    if r.sessions().delete_identity(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found())
    }
}

/// `DELETE /admin/identities/{id}/credentials/{type}`
pub async fn delete_identity_credentials(
    AxState(r): AxState<Registry>,
    Path((id, kind)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode> {
    let id = parse_uuid(&id)?;
    let mut identity = r
        .persister
        .get_identity(id, true)
        .await?
        .ok_or_else(Error::not_found)?;
    // As in Kratos: passkeys and code credentials are not removed through this API.
    let removable = [
        "password",
        "oidc",
        "saml",
        "totp",
        "lookup_secret",
        "webauthn",
    ];
    if !removable.contains(&kind.as_str()) {
        return Err(Error::bad_request(format!(
            "You can't remove a {kind} credential with this API."
        )));
    }
    if !identity.credentials.contains_key(&kind) {
        return Err(Error::not_found_reason(format!(
            "You tried to remove a {kind} but this user have no {kind} set up."
        )));
    }
    let first_factors = ["password", "oidc", "saml", "passkey", "code", "webauthn"];
    if ["password", "oidc", "saml"].contains(&kind.as_str()) {
        let others = identity
            .credentials
            .keys()
            .filter(|k| *k != &kind && first_factors.contains(&k.as_str()))
            .count();
        if others == 0 {
            return Err(Error::bad_request(
                "You cannot remove the last first factor credential.",
            ));
        }
        if kind != "password" && first(&query_pairs(&raw), "identifier").is_none() {
            return Err(Error::bad_request(
                "The identifier query parameter is required.",
            ));
        }
    }
    if kind == "webauthn" {
        // Only the security keys that are a second factor go; passwordless keys stay.
        remove_mfa_keys(&mut identity, r.clock.now())?;
    } else {
        identity.credentials.remove(&kind);
    }
    identity.updated_at = r.clock.now();
    r.sessions().update_identity(&identity).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Drop the identity's second-factor security keys, and its `webauthn` credential with them when
/// no passwordless key is left.
fn remove_mfa_keys(identity: &mut Identity, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    use crate::identity::webauthn_keys::KeySet;
    let Some(cred) = identity.credentials.get_mut("webauthn") else {
        return Ok(());
    };
    let mut set = KeySet::read(&cred.config)
        .map_err(|e| Error::internal(format!("the stored webauthn keys cannot be read: {e}")))?;
    set.credentials.retain(|k| k.is_passwordless);
    if set.credentials.is_empty() {
        identity.credentials.remove("webauthn");
    } else {
        cred.config = set.to_config();
        cred.updated_at = now;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: Error) -> Option<String> {
        match e {
            Error::Api(a) => a.reason,
            _ => None,
        }
    }

    #[test]
    fn page_size_errors_read_as_go_strconv() {
        assert_eq!(
            reason(atoi_error("1.5")).as_deref(),
            Some("strconv.Atoi: parsing \"1.5\": invalid syntax")
        );
        assert_eq!(
            reason(atoi_error("-99999999999999999999")).as_deref(),
            Some("strconv.Atoi: parsing \"-99999999999999999999\": value out of range")
        );
        assert_eq!(
            go_quote("a\"b\\c\n\u{1}\u{7f}é"),
            "\"a\\\"b\\\\c\\n\\x01\\x7fé\""
        );
        assert_eq!(go_quote("\u{85}"), "\"\\u0085\"");
    }

    #[test]
    fn filters_are_checked_in_kratos_order() {
        let pairs = |q: &str| query_pairs(&Some(q.to_string()));
        // The first value of a single-valued filter counts; an empty one is no filter.
        let f =
            parse_list_filters(&pairs("credentials_identifier=&credentials_identifier=x")).unwrap();
        assert_eq!(f, ListFilters::default());
        let id = crate::ids::IdentityId::new();
        let f = parse_list_filters(&pairs(&format!(
            "ids={id}&ids={id}&include_credential=totp"
        )))
        .unwrap();
        assert_eq!(f.ids, vec![id, id]);
        assert_eq!(f.include, vec!["totp".to_string()]);
        assert_eq!(
            reason(parse_list_filters(&pairs("organization_id=zz&ids=q")).unwrap_err()).as_deref(),
            Some("Invalid UUID value `q` for parameter `ids`.")
        );
    }
}
