//! The one place where everything long-lived is built from the configuration: the persister, the
//! identity schemas, the password hasher, the clock and the derived URLs and secrets. Cloning is
//! cheap (every part is shared), and there are no globals, so several instances can run in one
//! process (the tests do).

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Result;
use crate::hash::pool::Hasher;
use crate::persistence::{DsnKind, Persister};
use crate::schema::Schemas;
use std::sync::Arc;

#[derive(Clone)]
pub struct Registry {
    /// The validated configuration, base URLs filled in.
    pub config: Arc<Config>,
    /// All database access.
    pub persister: Persister,
    /// The persister seen through the session cache; reached through [`Registry::sessions`].
    pub session_store: crate::session::store::SessionStore,
    /// Identity schemas by id.
    pub schemas: Arc<Schemas>,
    /// Password hashing on a bounded blocking pool.
    pub hasher: Hasher,
    /// "Now" for flows and sessions.
    pub clock: Clock,
    /// `serve.public.base_url` without a trailing slash.
    pub public_base: Arc<str>,
    /// `serve.admin.base_url` without a trailing slash.
    pub admin_base: Arc<str>,
    /// Keys for the session cookie's signature: the first signs, all verify.
    pub cookie_secrets: Arc<Vec<Vec<u8>>>,
    /// Outgoing HTTP (schema URLs).
    pub http: reqwest::Client,
    /// Wakes this node's courier dispatcher as soon as a message is queued.
    pub courier_wakeup: Arc<tokio::sync::Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Schema(#[from] crate::schema::SchemaLoadError),
    #[error("config key dsn: cannot open the database: {0}")]
    Database(crate::error::Error),
    #[error("config key {0}: {1}")]
    Config(&'static str, String),
}

/// The DSN used when none is configured: a SQLite file in the working directory.
pub const DEFAULT_DSN: &str = "sqlite://./ostiary.sqlite";

impl Registry {
    /// The session lifecycle (issue, resolve, extend, revoke, log out), the only way to it.
    pub fn sessions(&self) -> crate::session::service::Sessions<'_> {
        crate::session::service::Sessions {
            store: &self.session_store,
            config: &self.config,
            clock: &self.clock,
        }
    }
}

impl Registry {
    /// Build everything. `config.serve.*.base_url` must already be set (the CLI fills them from the
    /// bound addresses when the configuration leaves them out).
    pub async fn build(config: Config) -> Result<Registry, BuildError> {
        let public_base = config
            .serve
            .public
            .base_url
            .clone()
            .ok_or(BuildError::Config(
                "serve.public.base_url",
                "is not set".into(),
            ))?;
        let admin_base = config
            .serve
            .admin
            .base_url
            .clone()
            .ok_or(BuildError::Config(
                "serve.admin.base_url",
                "is not set".into(),
            ))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| BuildError::Config("identity.schemas", e.to_string()))?;
        let schemas = Schemas::load(&config.identity, &http).await?;
        let dsn = config
            .dsn
            .clone()
            .unwrap_or_else(|| DEFAULT_DSN.to_string());
        let kind = DsnKind::parse(&dsn).map_err(|e| BuildError::Config("dsn", e))?;
        let cache = &config.ostiary.session.cache;
        let persister = Persister::connect(&kind)
            .await
            .map_err(BuildError::Database)?;
        let session_store = crate::session::store::SessionStore::new(
            persister.clone(),
            if cache.enabled { cache.max_entries } else { 0 },
            cache.ttl.0.to_std().unwrap_or_default(),
        );
        let hasher = Hasher::from_config(&config).map_err(|e| BuildError::Config("hashers", e))?;
        let secrets: Vec<Vec<u8>> = if !config.secrets.cookie.is_empty() {
            config
                .secrets
                .cookie
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect()
        } else if !config.secrets.default.is_empty() {
            config
                .secrets
                .default
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect()
        } else {
            // As Kratos: a random secret per process; cookies then do not survive a restart.
            tracing::warn!("no secrets.cookie or secrets.default configured: using a random secret for this process");
            vec![crate::session::token::generate("").into_bytes()]
        };
        Ok(Registry {
            public_base: public_base.trim_end_matches('/').into(),
            admin_base: admin_base.trim_end_matches('/').into(),
            config: Arc::new(config),
            persister,
            session_store,
            schemas: Arc::new(schemas),
            hasher,
            clock: Clock::default(),
            cookie_secrets: Arc::new(secrets),
            http,
            courier_wakeup: Arc::new(tokio::sync::Notify::new()),
        })
    }
}
