//! Password hashing off the async runtime: every hash and verification runs on tokio's blocking
//! pool, at most `permits` at a time, so a login storm never stalls session checks and argon2
//! memory × concurrent computations stays under the configured budget (excess callers wait).

use super::{Algorithm, Argon2Params, HashError, HasherConfig};
use crate::config::Config;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Hasher {
    config: Arc<HasherConfig>,
    permits: Arc<Semaphore>,
    /// A hash of a random password at the current parameters: verified against when the identifier
    /// is unknown, so an unknown identifier costs the same time as a wrong password.
    dummy: Arc<str>,
}

impl Hasher {
    pub fn from_config(config: &Config) -> Result<Hasher, String> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let h = &config.hashers;
        let algorithm = match h.algorithm.as_str() {
            "argon2" => Algorithm::Argon2,
            _ => Algorithm::Bcrypt,
        };
        let memory_kib = u32::try_from(h.argon2.memory.0 / 1024)
            .map_err(|_| "argon2.memory is too large".to_string())?;
        let bcrypt_cost = if config.dev {
            h.bcrypt.cost
        } else {
            h.bcrypt.cost.max(12)
        };
        let hasher_config = HasherConfig {
            algorithm,
            bcrypt_cost,
            argon2: Argon2Params {
                memory_kib,
                iterations: h.argon2.iterations.max(1),
                parallelism: h.argon2.parallelism.unwrap_or((cores * 2) as u32).max(1),
                salt_length: h.argon2.salt_length.max(8),
                key_length: h.argon2.key_length.max(16),
            },
        };
        let max_concurrent = config
            .ostiary
            .hashing
            .max_concurrent
            .unwrap_or(cores)
            .max(1);
        let permits = match algorithm {
            Algorithm::Argon2 => {
                let budget = config
                    .ostiary
                    .hashing
                    .memory_budget
                    .map(|b| b.0)
                    .unwrap_or(1 << 30);
                let per = (memory_kib as u64 * 1024).max(1);
                max_concurrent.min((budget / per).max(1) as usize)
            }
            Algorithm::Bcrypt => max_concurrent,
        };
        let dummy_password = crate::session::token::generate("");
        let dummy = super::hash_password(&hasher_config, dummy_password.as_bytes())
            .map_err(|e| format!("cannot hash with the configured parameters: {e}"))?;
        Ok(Hasher {
            config: Arc::new(hasher_config),
            permits: Arc::new(Semaphore::new(permits)),
            dummy: dummy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&HasherConfig) -> T + Send + 'static,
    ) -> T {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the hashing semaphore is never closed");
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || job(&config))
            .await
            .expect("a hashing task panicked")
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |c| super::hash_password(c, password.as_bytes()))
            .await
    }

    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        self.run(move |_| super::verify_password(password.as_bytes(), &hash))
            .await
    }

    /// Spend the time of one verification and report failure (unknown identifier).
    pub async fn verify_dummy(&self, password: String) -> bool {
        let dummy = self.dummy.to_string();
        let _ = self.verify(password, dummy).await;
        false
    }

    pub fn needs_rehash(&self, hash: &str) -> bool {
        super::needs_rehash(&self.config, hash)
    }

    /// The longest password the configured algorithm accepts (bcrypt: 72 bytes).
    pub fn max_password_bytes(&self) -> Option<usize> {
        match self.config.algorithm {
            Algorithm::Bcrypt => Some(72),
            Algorithm::Argon2 => None,
        }
    }
}
