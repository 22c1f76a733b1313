//! The self-service flows: login, registration, settings, recovery, verification and logout, their shared flow model, UI nodes,
//! message catalogue, CSRF tokens and `return_to` checks.
//!
//! Flows take the whole [`crate::registry::Registry`]: they need nearly every part of it (schemas,
//! hasher, persister, clock, config), and the registry is only a bundle of shared handles.

pub mod codes;
pub mod csrf;
pub mod flow;
pub mod hooks;
pub mod login;
pub mod password_policy;
pub mod rate_limit;
pub mod recovery;
pub mod registration;
pub mod request;
pub mod return_to;
pub mod settings;
pub mod strategy;
pub mod submission;
pub mod text;
pub mod ui;
pub mod verification;
pub mod webauthn_script;
