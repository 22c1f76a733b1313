//! Identity schemas: loading them from `file://`, `base64://` and `http(s)://` URLs, validating
//! traits with a JSON Schema library, and reading the `ory.sh/kratos` extension.

mod extension;
mod validate;

pub use extension::{TraitExtension, TraitValue};
pub(crate) use validate::type_name;
pub use validate::TraitError;

use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The built-in schema used when no `identity.schemas` are configured: one `email` trait that is the
/// password identifier and is verified and recovered by email.
pub const DEFAULT_SCHEMA: &str = include_str!("default.schema.json");

/// One loaded identity schema.
pub struct IdentitySchema {
    pub id: String,
    /// The URL the configuration gave (for reference and error messages).
    pub url: String,
    /// The schema document as served by `GET /schemas/{id}`.
    pub raw: Value,
    validator: jsonschema::Validator,
    /// Every trait that carries an `ory.sh/kratos` annotation, with its location.
    pub extensions: Vec<TraitExtension>,
}

/// All configured schemas, by id.
pub struct Schemas {
    by_id: HashMap<String, Arc<IdentitySchema>>,
    order: Vec<String>,
    pub default_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("config key {path}: {reason}")]
pub struct SchemaLoadError {
    pub path: String,
    pub reason: String,
}

impl IdentitySchema {
    pub fn compile(id: &str, url: &str, raw: Value) -> Result<IdentitySchema, String> {
        let traits = raw
            .pointer("/properties/traits")
            .ok_or("the schema has no properties.traits")?;
        if traits.get("type").and_then(Value::as_str) != Some("object") {
            return Err("properties.traits must be of type object".into());
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&raw)
            .map_err(|e| format!("not a valid JSON schema: {e}"))?;
        let extensions = extension::collect(traits)?;
        Ok(IdentitySchema {
            id: id.to_string(),
            url: url.to_string(),
            raw,
            validator,
            extensions,
        })
    }

    /// Check `traits` against the schema (Kratos validates `{"traits": …}` against the whole schema).
    pub fn validate_traits(&self, traits: &Value) -> Result<(), Vec<TraitError>> {
        validate::validate(&self.validator, traits)
    }

    /// Values of every annotated trait present in `traits`.
    pub fn trait_values<'a>(&'a self, traits: &Value) -> Vec<TraitValue<'a>> {
        extension::values(&self.extensions, traits)
    }
}

impl Schemas {
    /// Load every configured schema (or the built-in one when none is configured).
    pub async fn load(
        config: &crate::config::IdentityConfig,
        http: &reqwest::Client,
    ) -> Result<Schemas, SchemaLoadError> {
        let mut by_id = HashMap::new();
        let mut order = Vec::new();
        if config.schemas.is_empty() {
            let raw: Value = serde_json::from_str(DEFAULT_SCHEMA).expect("built-in schema is JSON");
            let schema =
                IdentitySchema::compile(&config.default_schema_id, "ostiary://default", raw)
                    .expect("built-in schema compiles");
            order.push(schema.id.clone());
            by_id.insert(schema.id.clone(), Arc::new(schema));
        }
        for (i, entry) in config.schemas.iter().enumerate() {
            let path = format!("identity.schemas.{i}.url");
            let raw = fetch(&entry.url, http)
                .await
                .map_err(|reason| SchemaLoadError {
                    path: path.clone(),
                    reason,
                })?;
            let schema = IdentitySchema::compile(&entry.id, &entry.url, raw).map_err(|reason| {
                SchemaLoadError {
                    path: path.clone(),
                    reason: format!("schema {:?}: {reason}", entry.id),
                }
            })?;
            order.push(schema.id.clone());
            by_id.insert(schema.id.clone(), Arc::new(schema));
        }
        if !by_id.contains_key(&config.default_schema_id) {
            return Err(SchemaLoadError {
                path: "identity.default_schema_id".into(),
                reason: format!(
                    "no schema with id {:?} is configured in identity.schemas",
                    config.default_schema_id
                ),
            });
        }
        Ok(Schemas {
            by_id,
            order,
            default_id: config.default_schema_id.clone(),
        })
    }

    /// Look a schema up by its id, or by the base64url form of its id (as `schema_url` carries it).
    pub fn get(&self, id: &str) -> Option<&Arc<IdentitySchema>> {
        self.by_id.get(id).or_else(|| {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(id.trim_end_matches('='))
                .ok()?;
            self.by_id.get(std::str::from_utf8(&decoded).ok()?)
        })
    }

    pub fn default_schema(&self) -> &Arc<IdentitySchema> {
        &self.by_id[&self.default_id]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<IdentitySchema>> {
        self.order.iter().map(|id| &self.by_id[id])
    }
}

/// `<public base>/schemas/<base64url(id)>`, as Kratos builds `schema_url`.
pub fn schema_url(public_base: &str, id: &str) -> String {
    format!(
        "{}/schemas/{}",
        public_base.trim_end_matches('/'),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
    )
}

async fn fetch(url: &str, http: &reqwest::Client) -> Result<Value, String> {
    let text = if let Some(path) = url.strip_prefix("file://") {
        tokio::fs::read_to_string(path)
            .await
            .map_err(|e| format!("cannot read {path}: {e}"))?
    } else if let Some(data) = url.strip_prefix("base64://") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(data))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(data))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data))
            .map_err(|e| format!("invalid base64: {e}"))?;
        String::from_utf8(bytes).map_err(|_| "the decoded schema is not UTF-8".to_string())?
    } else if url.starts_with("http://") || url.starts_with("https://") {
        let res = http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("fetching {url} answered {}", res.status()));
        }
        res.text()
            .await
            .map_err(|e| format!("cannot read {url}: {e}"))?
    } else {
        return Err(format!(
            "{url:?}: only file://, base64:// and http(s):// schema URLs are supported"
        ));
    };
    serde_json::from_str(&text)
        .or_else(|_| serde_yaml::from_str(&text))
        .map_err(|e| format!("{url} is not JSON or YAML: {e}"))
}
