//! Configuration layering for a Kratos-format configuration: files, environment overrides,
//! unknown/unimplemented key detection and light type checks, all on `serde_json::Value`.
//!
//! Typical use: [`load_files`] → [`apply_env`] → [`check_keys`] → [`check_types`]. The Kratos
//! configuration schema is embedded from `schemas/kratos-config.schema.json`; Ostiary's own
//! settings live under the top-level `ostiary` key ([`EXTENSION_KEY`]) and are described by a
//! caller-supplied extension schema (same walking rules; its `$ref`s resolve within itself).
//!
//! Quirks of the Kratos schema that this module handles:
//! * `tracing` is `{"$ref": "ory://tracing-config"}`, a schema that is not in the file. A
//!   built-in stand-in lists the documented tracing keys (so `TRACING_PROVIDER` etc. map and
//!   cast) and leaves every tracing object open. Any other unresolvable `$ref` allows anything.
//! * In `httpRequestConfig`, the web-hook `config` and the password `migrate_hook.config`,
//!   `"additionalProperties": false` sits *inside* `properties`, declaring a property literally
//!   named `additionalProperties` with schema `false`. Such `false` properties are never
//!   env-mapped and are rejected as unknown keys.
//! * Many objects list `properties` without `additionalProperties` (JSON Schema: open), e.g.
//!   `identity.schemas.*`, `ciphers`, `preview`, `security`, `clients`, `courier.worker`,
//!   `database.cleanup`, `selfservice.methods.{link,code}.config`, the webauthn/passkey `rp`,
//!   the tokenizer templates and OIDC `requested_claims`. `check_keys` treats these as closed
//!   to catch typos; it is lenient only where the schema says `additionalProperties: true` or
//!   gives a schema (`selfservice.methods.code`, hook `config` of `b2b_sso`, header maps) or
//!   declares no keys at all.
//! * Hook lists are `anyOf` several hook schemas; keys are checked against the branches whose
//!   `hook` constant matches the value, so a `session` hook with a `config` is caught.
//! * `version`'s pattern ends in `|$`, so it matches every string; ports are `1..=65535`
//!   (`expose-metrics-port` allows 0); `cookies.secure`/`session.cookie.secure` are strings, not
//!   booleans; `tokenizer.templates`' key pattern `[a-zA-Z0-9-_.]+` is unanchored.
//! * Environment-name prefix clashes (longest name wins): `courier.templates.recovery` /
//!   `recovery_code`, `verification` / `verification_code`, `feature_flags.cacheable_sessions`
//!   / `cacheable_sessions_max_age`, OIDC `apple_private_key` / `apple_private_key_id`. No two
//!   key paths share a variable name (checked by a test over the whole schema).

mod env;
mod error;
mod files;
mod keys;
mod pattern;
mod schema;
mod types;

#[cfg(test)]
mod tests;

pub use env::{apply_env, env_var_path, EXTENSION_KEY};
pub use error::ConfigError;
pub use files::{deep_merge, load_files};
pub use keys::check_keys;
#[cfg(test)]
pub(crate) use keys::schema_key_paths;
#[cfg(test)]
pub(crate) use keys::{best_coverage, display, parse_entry, Coverage};
pub use types::{check_types, check_types_with_extension};
