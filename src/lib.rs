//! Ostiary: an identity and session server that speaks the Ory Kratos public and admin HTTP APIs.
//!
//! # Layout (one line per room; ARCHITECTURE.md has the direction of dependencies)
//! - [`cli`]: the `ostiary` subcommands (`serve`, `migrate sql`, `cleanup sql`, `courier watch`, `version`).
//! - [`config`]: the Kratos-compatible configuration, its environment overrides and validation.
//! - [`registry`]: builds every long-lived part once from the configuration and hands it to the routers.
//! - [`http`]: the public and admin routers, one file per flow's endpoints, the error → JSON edge.
//! - [`selfservice`]: the self-service flows (login, registration, settings, recovery, verification),
//!   their UI, codes, CSRF, `return_to` and brute-force limits.
//! - [`courier`]: outgoing email: a queue table, templates, SMTP delivery with retries.
//! - [`session`]: sessions, tokens, their wire format, the whoami cache and its cross-node sync; the
//!   one owner of the session lifecycle and of every write that changes what a session check answers.
//! - [`identity`]: identities, traits, credentials, addresses, and the manager that validates them.
//! - [`schema`]: identity schemas and the `ory.sh/kratos` extension.
//! - [`hash`]: password hashers and verification of imported hashes, on their own threads.
//! - [`persistence`]: all SQL, migrations and transactions, on SQLite and PostgreSQL; the janitor.
//! - [`error`]: the one error type, carrying the Kratos error id and HTTP status.
//! - [`aal`], [`ids`], [`json`], [`random`], [`time`], [`clock`]: identity and session ids as distinct types,
//!   assurance levels, JSON as Kratos writes it, random strings, time.

pub mod aal;
pub mod cli;
pub mod clock;
pub mod config;
pub mod courier;
pub mod error;
pub mod hash;
pub mod http;
pub mod identity;
pub mod ids;
pub mod json;
pub mod persistence;
pub mod random;
pub mod registry;
pub mod schema;
pub mod selfservice;
pub mod session;
pub mod time;
