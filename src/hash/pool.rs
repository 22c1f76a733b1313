//! Password hashing off the async runtime, on a fixed set of threads of its own: at most that many
//! computations at once, so argon2 memory × concurrent computations stays under the configured
//! budget (excess callers queue; they do not fail).
//!
//! The threads run at the lowest CPU priority (nice 19 on Linux; `ostiary.hashing.niceness`):
//! when the machine is saturated, a login storm takes the CPU time session checks leave over
//! instead of competing with them as equals, so whoami latency holds up during a storm. On an
//! otherwise idle machine the hashing threads still get every core they ask for, so login
//! throughput is unchanged. (Measured on 2 cores: whoami p99 during a storm 4.4–4.8 ms at nice 10,
//! 2.3–3.4 ms at nice 19, 1.2–2.2 ms without a storm; logins during the storm about the same.)

use super::{Algorithm, Argon2Params, HashError, HasherConfig};
use crate::config::Config;
use std::sync::{mpsc, Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads unless `ostiary.hashing.niceness` says otherwise.
const DEFAULT_NICENESS: i32 = 19;

#[derive(Clone)]
pub struct Hasher {
    config: Arc<HasherConfig>,
    jobs: mpsc::Sender<Job>,
    /// A hash of a random password at the current parameters: verified against when the identifier
    /// is unknown, so an unknown identifier costs the same time as a wrong password. Made in the
    /// background at start (not on the start path: a bcrypt-12 hash alone takes ~250 ms).
    dummy: Arc<tokio::sync::OnceCell<Arc<str>>>,
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
        super::check_params(&hasher_config)
            .map_err(|e| format!("cannot hash with the configured parameters: {e}"))?;
        let hasher = Hasher {
            config: Arc::new(hasher_config),
            jobs: start_threads(
                permits,
                config.ostiary.hashing.niceness.unwrap_or(DEFAULT_NICENESS),
            )?,
            dummy: Arc::new(tokio::sync::OnceCell::new()),
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let h = hasher.clone();
            rt.spawn(async move { h.dummy_hash().await });
        }
        Ok(hasher)
    }

    async fn dummy_hash(&self) -> Option<Arc<str>> {
        self.dummy
            .get_or_try_init(|| async {
                let password = crate::random::alphanumeric(32);
                self.hash(password).await.map(Arc::from)
            })
            .await
            .ok()
            .cloned()
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&HasherConfig) -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let config = self.config.clone();
        self.jobs
            .send(Box::new(move || {
                // A caller that has gone (its request dropped by a client that gave up) costs no
                // hashing: nothing would use the result.
                if !tx.is_closed() {
                    let _ = tx.send(job(&config));
                }
            }))
            .expect("the hashing threads live as long as the hasher");
        rx.await.expect("a hashing job panicked")
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(HashError::PasswordTooLong {
                max: MAX_PASSWORD_BYTES,
            });
        }
        self.run(move |c| super::hash_password(c, password.as_bytes()))
            .await
    }

    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        self.run(move |_| super::verify_password(password.as_bytes(), &hash))
            .await
    }

    /// Spend the time of one verification and report failure (unknown identifier).
    pub async fn verify_dummy(&self, password: String) -> bool {
        if let Some(dummy) = self.dummy_hash().await {
            let _ = self.verify(password, dummy.to_string()).await;
        }
        false
    }

    pub fn needs_rehash(&self, hash: &str) -> bool {
        super::needs_rehash(&self.config, hash)
    }

    /// The longest password the configured algorithm accepts (bcrypt: 72 bytes).
    pub fn max_password_bytes(&self) -> Option<usize> {
        match self.config.algorithm {
            Algorithm::Bcrypt => Some(72),
            Algorithm::Argon2 => Some(MAX_PASSWORD_BYTES),
        }
    }
}

/// The longest password hashed or compared: argon2 has no limit of its own, and a request body
/// may hold megabytes.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// `n` hashing threads sharing one queue; they end when the last [`Hasher`] clone is dropped.
fn start_threads(n: usize, niceness: i32) -> Result<mpsc::Sender<Job>, String> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("ostiary-hash-{i}"))
            .spawn(move || {
                lower_priority(niceness);
                loop {
                    let job = match rx.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job drops its reply channel (the caller sees it); the
                        // thread carries on.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| format!("cannot start a hashing thread: {e}"))?;
    }
    Ok(tx)
}

#[cfg(target_os = "linux")]
fn lower_priority(niceness: i32) {
    // On Linux the nice value belongs to the thread, and "this process" (no pid) names the
    // calling thread. Failure only leaves the priority as it was.
    if niceness > 0 {
        let _ = rustix::process::setpriority_process(None, niceness);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_niceness: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(max_concurrent: usize) -> Hasher {
        let config = Config::from_value(serde_json::json!({
            "dev": true,
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "ostiary": {"hashing": {"max_concurrent": max_concurrent}}
        }))
        .unwrap();
        Hasher::from_config(&config).unwrap()
    }

    #[tokio::test]
    async fn jobs_run_on_the_low_priority_hashing_threads() {
        let h = hasher(2);
        let (name, nice) = h
            .run(|_| {
                let name = std::thread::current().name().map(str::to_string);
                (name, rustix::process::getpriority_process(None).ok())
            })
            .await;
        assert!(name.unwrap().starts_with("ostiary-hash-"));
        if cfg!(target_os = "linux") {
            assert_eq!(nice, Some(DEFAULT_NICENESS));
        }
    }

    #[tokio::test]
    async fn the_niceness_is_configurable() {
        let config = Config::from_value(serde_json::json!({
            "dev": true,
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "ostiary": {"hashing": {"max_concurrent": 1, "niceness": 3}}
        }))
        .unwrap();
        // Threads start at their creator's nice value and may only raise it (without
        // CAP_SYS_NICE): the check holds when the tests themselves run at 3 or below.
        let ours = rustix::process::getpriority_process(None).ok();
        let h = Hasher::from_config(&config).unwrap();
        let nice = h
            .run(|_| rustix::process::getpriority_process(None).ok())
            .await;
        if cfg!(target_os = "linux") && ours.is_some_and(|n| n <= 3) {
            assert_eq!(nice, Some(3));
        }
        let refused = Config::from_value(serde_json::json!({
            "dev": true,
            "ostiary": {"hashing": {"niceness": 20}}
        }));
        assert!(
            matches!(&refused, Err(crate::config::LoadError::Invalid { path, .. })
                if path == "ostiary.hashing.niceness"),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_job_whose_caller_has_gone_is_not_computed() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let h = hasher(1);
        // Hold the only thread until the second caller has given up.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let h = h.clone();
            tokio::spawn(async move {
                h.run(move |_| {
                    let _ = started.send(());
                    held.recv().is_ok()
                })
                .await
            })
        };
        running.await.unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let gave_up = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            h.run(move |_| flag.store(true, Ordering::SeqCst)),
        )
        .await;
        assert!(gave_up.is_err(), "the second job waits behind the first");
        release.send(()).unwrap();
        assert!(first.await.unwrap());
        // A job queued after the abandoned one runs only once the abandoned one was passed over.
        h.run(|_| ()).await;
        assert!(
            !ran.load(Ordering::SeqCst),
            "the abandoned job was computed"
        );
    }

    #[tokio::test]
    async fn excess_callers_queue_instead_of_failing() {
        let h = hasher(1);
        let jobs = (0..8).map(|i| {
            let h = h.clone();
            async move { h.hash(format!("password-{i}")).await }
        });
        let hashes = futures::future::join_all(jobs).await;
        for (i, hash) in hashes.into_iter().enumerate() {
            let hash = hash.unwrap();
            assert!(h
                .verify(format!("password-{i}"), hash.clone())
                .await
                .unwrap());
        }
        assert!(!h.verify_dummy("anything".into()).await);
    }

    #[test]
    fn impossible_parameters_are_refused_at_start() {
        // Valid by the configuration schema, impossible for argon2 (memory below 8 KiB × lanes).
        let config = Config::from_value(serde_json::json!({
            "dev": true,
            "hashers": {"algorithm": "argon2", "argon2": {"memory": "16KB", "parallelism": 8}}
        }))
        .unwrap();
        let err = Hasher::from_config(&config).err().expect("refused");
        assert!(
            err.contains("cannot hash with the configured parameters"),
            "{err}"
        );
    }
}
