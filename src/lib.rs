//! Ostiary: an identity and session server that speaks the Ory Kratos public and admin HTTP APIs.
//!
//! # Layout
//! - [`cli`]: the `ostiary` subcommands (`serve`, `migrate sql`, `version`).
//! - [`config`]: the Kratos-compatible configuration, its environment overrides and validation.
//! - [`registry`]: builds every long-lived part once from the configuration and hands it to the routers.
//! - [`error`]: the one error type, carrying the Kratos error id and HTTP status.
//! - [`identity`]: identities, traits, credentials, addresses, and the manager that validates them.
//! - [`schema`]: identity schemas and the `ory.sh/kratos` extension.
//! - [`hash`]: password hashers and verification of imported hashes.
//! - [`session`]: sessions, tokens, devices and the assurance level.
//! - [`courier`]: outgoing email: a queue table, templates, SMTP delivery with retries.
//! - [`selfservice`]: the self-service flows (login, registration, logout, …).
//! - [`persistence`]: all SQL, migrations and transactions, on SQLite and PostgreSQL.
//! - [`http`]: the public and admin routers, middleware and the error → JSON mapping.

pub mod cli;
pub mod clock;
pub mod config;
pub mod courier;
pub mod error;
pub mod hash;
pub mod http;
pub mod identity;
pub mod json;
pub mod persistence;
pub mod random;
pub mod registry;
pub mod schema;
pub mod selfservice;
pub mod session;
pub mod time;
