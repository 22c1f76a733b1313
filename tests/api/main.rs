//! Black-box API tests: every test runs the real server on ephemeral ports, once on a fresh SQLite
//! file and once on a fresh PostgreSQL database, and speaks HTTP to it as a client would.

mod bad_input;
mod browser;
mod cli;
mod code_brute_force;
mod courier_flows;
mod helpers;
mod identities;
mod identity_races;
mod login_hardening;
mod lookup_secret;
mod method_toggles;
mod native;
mod parity;
mod passkey;
mod rate_limits;
mod resilience;
mod sdk;
mod sdk_flows;
mod sdk_support;
mod sessions;
mod soft_authenticator;
mod totp;
mod webauthn_passwordless;
