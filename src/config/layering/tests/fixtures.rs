//! Shared test fixtures: a realistic Kratos configuration, an extension schema, temp dirs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

/// A configuration in the style of Kratos's quickstart, touching most sections.
pub(super) const FULL_KRATOS_YAML: &str = r#"
version: v1.3.0
dsn: postgres://kratos:secret@postgres:5432/kratos?sslmode=disable&max_conns=20

serve:
  public:
    base_url: http://127.0.0.1:4433/
    cors:
      enabled: true
      allowed_origins:
        - http://127.0.0.1:4455
        - https://*.example.org
      allowed_methods: [POST, GET, PUT, PATCH, DELETE]
      allowed_headers: [Authorization, Cookie, Content-Type]
      exposed_headers: [Content-Type, Set-Cookie]
  admin:
    base_url: http://kratos:4434/
    port: 4434

selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  allowed_return_urls:
    - http://127.0.0.1:4455
    - https://app.example.org/callback
  methods:
    password:
      enabled: true
      config:
        haveibeenpwned_enabled: false
        min_password_length: 10
    link:
      enabled: true
      config:
        lifespan: 15m
    code:
      enabled: true
      config:
        lifespan: 15m
    totp:
      enabled: true
      config:
        issuer: Example Inc.
    lookup_secret:
      enabled: true
    oidc:
      enabled: false
      config:
        providers:
          - id: google
            provider: google
            client_id: abc
            client_secret: def
            mapper_url: file:///etc/config/kratos/oidc.google.jsonnet
            scope: [email, profile]
  flows:
    error:
      ui_url: http://127.0.0.1:4455/error
    settings:
      ui_url: http://127.0.0.1:4455/settings
      privileged_session_max_age: 15m
      required_aal: highest_available
    recovery:
      enabled: true
      ui_url: http://127.0.0.1:4455/recovery
      use: code
    verification:
      enabled: true
      ui_url: http://127.0.0.1:4455/verification
      use: code
      after:
        default_browser_return_url: http://127.0.0.1:4455/
    logout:
      after:
        default_browser_return_url: http://127.0.0.1:4455/login
    login:
      ui_url: http://127.0.0.1:4455/login
      lifespan: 10m
      after:
        password:
          hooks:
            - hook: require_verified_address
    registration:
      lifespan: 10m
      ui_url: http://127.0.0.1:4455/registration
      after:
        password:
          hooks:
            - hook: session
            - hook: show_verification_ui
        oidc:
          hooks:
            - hook: session

log:
  level: debug
  format: text
  leak_sensitive_values: true

secrets:
  cookie:
    - PLEASE-CHANGE-ME-I-AM-VERY-INSECURE
  cipher:
    - 32-LONG-SECRET-NOT-SECURE-AT-ALL

ciphers:
  algorithm: xchacha20-poly1305

hashers:
  algorithm: argon2
  argon2:
    memory: 128MB
    iterations: 2
    parallelism: 4
    salt_length: 16
    key_length: 32
  bcrypt:
    cost: 12

identity:
  default_schema_id: default
  schemas:
    - id: default
      url: file:///etc/config/kratos/identity.schema.json
    - id: employee
      url: https://example.org/schemas/employee.json

courier:
  smtp:
    connection_uri: smtps://test:test@mailslurper:1025/?skip_ssl_verify=true
    from_address: no-reply@example.org

session:
  lifespan: 24h
  earliest_possible_extend: 1h
  cookie:
    name: ory_kratos_session
    same_site: Lax
    persistent: true
    domain: example.org

feature_flags:
  use_continue_with_transitions: true

ostiary:
  session:
    sliding: true
"#;

/// The realistic configuration, parsed.
pub(super) fn full_config() -> Value {
    serde_yaml::from_str(FULL_KRATOS_YAML).expect("fixture is valid YAML")
}

/// A small extension schema for the `ostiary` section.
pub(super) fn extension_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "session": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "sliding": { "type": "boolean" },
                    "max_sessions_per_identity": { "type": "integer", "minimum": 1 }
                }
            },
            "trusted_proxies": { "type": "array", "items": { "type": "string" } },
            "audit": { "$ref": "#/definitions/audit" }
        },
        "definitions": {
            "audit": {
                "type": "object",
                "additionalProperties": false,
                "properties": { "sink_url": { "type": "string" } }
            }
        }
    })
}

/// A directory under the system temp dir, removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("scratch-config-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(super) fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
