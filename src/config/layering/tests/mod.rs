//! Unit tests for configuration layering (files, env, keys, types, patterns).

mod env;
mod files;
mod fixtures;
mod keys;
mod pattern;
mod types;
