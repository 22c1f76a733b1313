//! Black-box API tests: every test runs the real server on ephemeral ports, once on a fresh SQLite
//! file and once on a fresh PostgreSQL database, and speaks HTTP to it as a client would.

mod bad_input;
mod browser;
mod cli;
mod courier_flows;
mod helpers;
mod identities;
mod native;
mod parity;
mod rate_limits;
mod resilience;
mod sdk;
mod sdk_flows;
mod sessions;
