//! The typed configuration: every key Ostiary reads, with Kratos's defaults.
//! Unknown-key detection and environment overrides happen on the raw JSON before this is built.

use crate::time::parse_duration;
use chrono::Duration;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A Go-style duration from the config (`1h`, `30m`, `500ms`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoDuration(pub Duration);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::String(s) => parse_duration(s)
                .map(GoDuration)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid duration {s:?}"))),
            Value::Number(n) => n
                .as_i64()
                .map(|ns| GoDuration(Duration::nanoseconds(ns)))
                .ok_or_else(|| serde::de::Error::custom("invalid duration")),
            _ => Err(serde::de::Error::custom(
                "a duration must be a string like \"1h\"",
            )),
        }
    }
}

/// A byte size such as `128MB` (1024-based, as Kratos's argon2 memory key).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::Number(n) => n
                .as_u64()
                .map(ByteSize)
                .ok_or_else(|| serde::de::Error::custom("invalid byte size")),
            Value::String(s) => parse_bytes(s)
                .map(ByteSize)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid byte size {s:?}"))),
            _ => Err(serde::de::Error::custom("invalid byte size")),
        }
    }
}

fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let number: f64 = s[..split].parse().ok()?;
    let unit = s[split..].trim().to_ascii_uppercase();
    let scale: u64 = match unit.as_str() {
        "" | "B" => 1,
        "KB" | "K" | "KIB" => 1 << 10,
        "MB" | "M" | "MIB" => 1 << 20,
        "GB" | "G" | "GIB" => 1 << 30,
        "TB" | "T" | "TIB" => 1 << 40,
        _ => return None,
    };
    Some((number * scale as f64) as u64)
}

/// A flag the Kratos schema types as a string (`"true"`) but that is read as a boolean.
fn flex_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "1" | "t" | "yes" => Ok(Some(true)),
            "false" | "0" | "f" | "no" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "{other:?} is not a boolean"
            ))),
        },
        Some(other) => Err(serde::de::Error::custom(format!(
            "{other} is not a boolean"
        ))),
    }
}

fn d(h: i64) -> GoDuration {
    GoDuration(Duration::hours(h))
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    pub dsn: Option<String>,
    pub dev: bool,
    pub serve: Serve,
    pub selfservice: SelfService,
    pub session: SessionConfig,
    pub cookies: Cookies,
    pub secrets: Secrets,
    pub hashers: Hashers,
    pub identity: IdentityConfig,
    pub feature_flags: FeatureFlags,
    pub courier: super::CourierConfig,
    pub log: LogConfig,
    pub ostiary: Ostiary,
    /// `--sqa-opt-out` (or the key Kratos mirrors it to): there is no telemetry to opt out of.
    #[serde(rename = "sqa-opt-out")]
    pub sqa_opt_out: bool,
    /// `--watch-courier` (or its key): the courier runs inside `serve` with or without it.
    #[serde(rename = "watch-courier")]
    pub watch_courier: bool,
}

/// `log.*`: the level and format of the log lines, and whether sensitive values appear in them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct LogConfig {
    /// Kratos's levels: trace, debug, info, warning, error, fatal, panic (default info).
    pub level: Option<String>,
    /// `text` (default) or `json`.
    pub format: Option<String>,
    /// Off by default: identifiers such as email addresses are replaced by `redaction_text`.
    pub leak_sensitive_values: bool,
    pub redaction_text: Option<String>,
}

/// What stands in a log line for a sensitive value when `log.leak_sensitive_values` is off.
pub const DEFAULT_REDACTION_TEXT: &str =
    "[redacted: set log.leak_sensitive_values to true to log this value]";

impl LogConfig {
    /// A sensitive value (an email address, a phone number, an identifier) as it may appear in a
    /// log line: itself only when `leak_sensitive_values` is on.
    pub fn sensitive<'a>(&'a self, value: &'a str) -> &'a str {
        if self.leak_sensitive_values {
            value
        } else {
            self.redaction_text()
        }
    }

    /// `text` with every occurrence of the sensitive `value` redacted (for error messages from
    /// elsewhere, such as an SMTP server's reply, that may quote it).
    pub fn scrub(&self, text: &str, value: &str) -> String {
        if self.leak_sensitive_values || value.is_empty() {
            text.to_string()
        } else {
            text.replace(value, self.redaction_text())
        }
    }

    pub fn redaction_text(&self) -> &str {
        self.redaction_text
            .as_deref()
            .unwrap_or(DEFAULT_REDACTION_TEXT)
    }

    /// `log.format: json`.
    pub fn is_json(&self) -> bool {
        self.format.as_deref() == Some("json")
    }

    /// The tracing level directive for `log.level` (`warning` is `warn`; `fatal` and `panic`
    /// log errors only), or `None` when unset or not one of Kratos's levels.
    pub fn level_directive(&self) -> Option<&'static str> {
        match self.level.as_deref()?.trim().to_ascii_lowercase().as_str() {
            "trace" => Some("trace"),
            "debug" => Some("debug"),
            "info" => Some("info"),
            "warning" | "warn" => Some("warn"),
            "error" | "fatal" | "panic" => Some("error"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Serve {
    pub public: Listener,
    pub admin: Listener,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Listener {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub base_url: Option<String>,
    pub cors: Cors,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Cors {
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: u64,
    pub debug: bool,
}

impl Default for Cors {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        Self {
            enabled: false,
            allowed_origins: s(&["*"]),
            allowed_methods: s(&["POST", "GET", "PUT", "PATCH", "DELETE"]),
            allowed_headers: s(&[
                "Authorization",
                "Content-Type",
                "Max-Age",
                "X-Session-Token",
                "X-XSRF-TOKEN",
                "X-CSRF-TOKEN",
                "X-Requested-With",
                "Cookie",
            ]),
            exposed_headers: s(&["Content-Type", "Set-Cookie"]),
            allow_credentials: true,
            max_age: 0,
            debug: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct SelfService {
    pub default_browser_return_url: Option<String>,
    pub allowed_return_urls: Vec<String>,
    pub methods: Methods,
    pub flows: Flows,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Methods {
    pub password: PasswordMethod,
    pub profile: MethodToggle,
    pub totp: TotpMethod,
    pub lookup_secret: OffByDefault,
    pub link: MethodWithLifespan,
    pub code: MethodWithLifespan,
    pub webauthn: WebauthnMethod,
    pub passkey: PasskeyMethod,
}

/// `selfservice.methods.webauthn`: security keys, off unless enabled; a second factor, or a first
/// one with `passwordless: true`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct WebauthnMethod {
    pub enabled: bool,
    pub config: WebauthnConfig,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct WebauthnConfig {
    pub passwordless: bool,
    pub rp: RelyingParty,
}

/// `selfservice.methods.passkey`: discoverable credentials, off unless enabled.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct PasskeyMethod {
    pub enabled: bool,
    pub config: PasskeyConfig,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct PasskeyConfig {
    pub rp: RelyingParty,
}

/// The relying party of the WebAuthn methods: `id` (a domain), the name authenticators show, and
/// the page origins allowed to run the ceremonies (`origin` is Kratos's deprecated single form;
/// `icon` is deprecated and ignored, as in Kratos).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct RelyingParty {
    pub id: String,
    pub display_name: String,
    pub origins: Vec<String>,
    pub origin: Option<String>,
    pub icon: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MethodToggle {
    pub enabled: bool,
}

impl Default for MethodToggle {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// A method that is off unless enabled (`selfservice.methods.lookup_secret`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct OffByDefault {
    pub enabled: bool,
}

/// `selfservice.methods.totp`: off unless enabled.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct TotpMethod {
    pub enabled: bool,
    pub config: TotpConfig,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct TotpConfig {
    /// The issuer authenticator apps show; the public base URL's host when unset.
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct MethodWithLifespan {
    pub enabled: Option<bool>,
    pub config: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PasswordMethod {
    pub enabled: bool,
    pub config: PasswordPolicy,
}

impl Default for PasswordMethod {
    fn default() -> Self {
        Self {
            enabled: true,
            config: PasswordPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub min_password_length: usize,
    pub identifier_similarity_check_enabled: bool,
    pub haveibeenpwned_enabled: bool,
    pub haveibeenpwned_host: String,
    pub max_breaches: u64,
    pub ignore_network_errors: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_password_length: 8,
            identifier_similarity_check_enabled: true,
            haveibeenpwned_enabled: true,
            haveibeenpwned_host: "api.pwnedpasswords.com".into(),
            max_breaches: 0,
            ignore_network_errors: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Flows {
    pub error: UiFlow,
    pub login: Flow,
    pub registration: Flow,
    pub settings: Flow,
    pub recovery: Flow,
    pub verification: Flow,
    pub logout: LogoutFlow,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct UiFlow {
    pub ui_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Flow {
    pub enabled: Option<bool>,
    pub ui_url: Option<String>,
    pub lifespan: Option<GoDuration>,
    /// `after` holds `default_browser_return_url`, `hooks`, and per-method overrides.
    pub after: Value,
    pub before: Value,
    #[serde(rename = "use")]
    pub use_method: Option<String>,
    pub privileged_session_max_age: Option<GoDuration>,
    pub required_aal: Option<String>,
    pub notify_unknown_recipients: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct LogoutFlow {
    pub after: LogoutAfter,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct LogoutAfter {
    pub default_browser_return_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    pub lifespan: GoDuration,
    pub earliest_possible_extend: Option<GoDuration>,
    pub cookie: SessionCookie,
    pub whoami: Whoami,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            lifespan: d(24),
            earliest_possible_extend: None,
            cookie: SessionCookie::default(),
            whoami: Whoami::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SessionCookie {
    pub name: String,
    pub domain: Option<String>,
    pub path: Option<String>,
    pub same_site: Option<String>,
    #[serde(deserialize_with = "flex_bool")]
    pub secure: Option<bool>,
    pub persistent: bool,
}

impl Default for SessionCookie {
    fn default() -> Self {
        Self {
            name: "ory_kratos_session".into(),
            domain: None,
            path: None,
            same_site: None,
            secure: None,
            persistent: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Whoami {
    pub required_aal: String,
}

impl Default for Whoami {
    fn default() -> Self {
        Self {
            required_aal: "highest_available".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Cookies {
    pub domain: Option<String>,
    pub path: Option<String>,
    pub same_site: Option<String>,
    #[serde(deserialize_with = "flex_bool")]
    pub secure: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Secrets {
    pub default: Vec<String>,
    pub cookie: Vec<String>,
    pub cipher: Vec<String>,
    pub pagination: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Hashers {
    pub algorithm: String,
    pub bcrypt: Bcrypt,
    pub argon2: Argon2,
}

impl Default for Hashers {
    fn default() -> Self {
        Self {
            algorithm: "bcrypt".into(),
            bcrypt: Bcrypt::default(),
            argon2: Argon2::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Bcrypt {
    pub cost: u32,
}

impl Default for Bcrypt {
    fn default() -> Self {
        Self { cost: 12 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Argon2 {
    pub memory: ByteSize,
    pub iterations: u32,
    pub parallelism: Option<u32>,
    pub salt_length: u32,
    pub key_length: u32,
}

impl Default for Argon2 {
    fn default() -> Self {
        Self {
            memory: ByteSize(128 << 20),
            iterations: 1,
            parallelism: None,
            salt_length: 16,
            key_length: 32,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    pub default_schema_id: String,
    pub schemas: Vec<SchemaRef>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            default_schema_id: "default".into(),
            schemas: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaRef {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub selfservice_selectable: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct FeatureFlags {
    pub cacheable_sessions: bool,
    pub cacheable_sessions_max_age: Option<GoDuration>,
    pub faster_session_extend: bool,
}

/// Ostiary's own extensions, all under the top-level `ostiary:` key.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Ostiary {
    pub session: OstiarySession,
    pub hashing: OstiaryHashing,
    pub rate_limit: RateLimit,
    pub cleanup: Cleanup,
    pub limits: Limits,
}

/// Protection against slow clients: request headers and bodies must arrive within these times.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Limits {
    pub header_read_timeout: GoDuration,
    pub body_read_timeout: GoDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: GoDuration(Duration::seconds(10)),
            body_read_timeout: GoDuration(Duration::seconds(30)),
        }
    }
}

/// Brute-force protection (on by default). Every attempt is counted before its password or code is
/// compared, so a parallel burst cannot outrun a limit. Hard limits (429) apply per client address
/// and per (identifier, client address); per identifier alone, attempts beyond
/// `login_per_identifier` are slowed by a growing delay instead, so a stranger cannot lock an
/// account. IPv6 clients count per /64.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimit {
    pub enabled: bool,
    pub window: GoDuration,
    /// Attempts on one identifier (from anywhere) before each further attempt is delayed.
    pub login_per_identifier: i64,
    /// Attempts on one identifier from one client address before 429.
    pub login_per_identifier_and_address: i64,
    /// Login attempts from one client address (any identifier) before 429.
    pub login_per_address: i64,
    /// The first delay beyond `login_per_identifier`; it doubles with each further attempt.
    pub login_delay: GoDuration,
    /// The longest delay.
    pub login_delay_max: GoDuration,
    /// Code (and link) submissions from one client address before 429.
    pub code_per_address: i64,
    /// Codes or links sent on request of one client address before 429.
    pub code_sends_per_address: i64,
    /// Codes or links sent to one recipient address before 429.
    pub code_sends_per_recipient: i64,
    /// Proxies (IP addresses or CIDR ranges) whose forwarding headers are believed for the client
    /// address; from anyone else only the socket address counts.
    pub trusted_proxies: Vec<String>,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            enabled: true,
            window: GoDuration(Duration::minutes(15)),
            login_per_identifier: 10,
            login_per_identifier_and_address: 10,
            login_per_address: 100,
            login_delay: GoDuration(Duration::milliseconds(500)),
            login_delay_max: GoDuration(Duration::seconds(20)),
            code_per_address: 30,
            code_sends_per_address: 20,
            code_sends_per_recipient: 5,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The expired-data janitor inside `serve` (on by default; `ostiary cleanup sql` runs one pass).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Cleanup {
    pub enabled: bool,
    /// Time between passes (the first runs at start).
    pub interval: GoDuration,
    /// Keep expired rows this long before deleting them.
    pub keep_for: GoDuration,
    pub batch_size: i64,
}

impl Default for Cleanup {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: GoDuration(Duration::hours(1)),
            keep_for: GoDuration(Duration::hours(24)),
            batch_size: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct OstiarySession {
    /// Extend a session that is used within the last part of its lifespan (off by default:
    /// Kratos never extends implicitly).
    pub sliding: bool,
    pub cache: SessionCacheConfig,
}

/// The in-process session cache (on by default; see `session::cache`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SessionCacheConfig {
    pub enabled: bool,
    /// Most sessions held (each a few KiB).
    pub max_entries: usize,
    /// Longest time an entry is served without reading the database again.
    pub ttl: GoDuration,
}

impl Default for SessionCacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: 20_000,
            ttl: GoDuration(Duration::seconds(60)),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct OstiaryHashing {
    /// Most password hash computations at once (default: the number of cores).
    pub max_concurrent: Option<usize>,
    /// Cap on argon2 memory × concurrent verifications (default 1GB).
    pub memory_budget: Option<ByteSize>,
    /// The nice value of the hashing threads, 0 (as the server) to 19 (lowest); default 19.
    pub niceness: Option<i32>,
}
