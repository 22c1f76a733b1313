//! The one error type of the crate and the catalogue of Kratos error ids.
//!
//! Domain code returns `Result<T, Error>`; only `http::error` turns an `Error` into the Kratos JSON
//! envelope `{"error": {id, code, status, reason, message, details, debug, request}}`.

use serde_json::{Map, Value};

/// Kratos error ids (`error.id`), one place for all of them.
pub mod id {
    pub const SESSION_INACTIVE: &str = "session_inactive";
    pub const SESSION_AAL2_REQUIRED: &str = "session_aal2_required";
    pub const SESSION_AAL1_REQUIRED: &str = "session_aal1_required";
    pub const SESSION_ALREADY_AVAILABLE: &str = "session_already_available";
    pub const SESSION_REFRESH_REQUIRED: &str = "session_refresh_required";
    pub const SESSION_VERIFIED_ADDRESS_REQUIRED: &str = "session_verified_address_required";
    pub const SECURITY_CSRF_VIOLATION: &str = "security_csrf_violation";
    pub const SECURITY_IDENTITY_MISMATCH: &str = "security_identity_mismatch";
    pub const RETURN_TO_FORBIDDEN: &str = "self_service_flow_return_to_forbidden";
    pub const FLOW_EXPIRED: &str = "self_service_flow_expired";
    pub const FLOW_DISABLED: &str = "self_service_flow_disabled";
    pub const BROWSER_LOCATION_CHANGE_REQUIRED: &str = "browser_location_change_required";
    pub const INVALID_CONFIGURATION: &str = "invalid_configuration";
    pub const RATE_LIMITED: &str = "rate_limit_exceeded";
}

/// An error a client sees: the HTTP status plus every field of the Kratos error object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub id: Option<&'static str>,
    pub reason: Option<String>,
    /// Replaces the status's default message when set.
    pub message: Option<String>,
    pub debug: Option<String>,
    pub details: Option<Map<String, Value>>,
    /// Extra top-level siblings of `"error"` (e.g. `redirect_browser_to`, `use_flow_id`).
    pub extra: Option<Map<String, Value>>,
    /// Extra response headers (e.g. `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(code: u16) -> Self {
        Self {
            code,
            id: None,
            reason: None,
            message: None,
            debug: None,
            details: None,
            extra: None,
            headers: Vec::new(),
        }
    }
    pub fn with_id(mut self, id: &'static str) -> Self {
        self.id = Some(id);
        self
    }
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
    pub fn with_debug(mut self, debug: impl Into<String>) -> Self {
        self.debug = Some(debug.into());
        self
    }
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }
    pub fn with_extra(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The message Kratos sends when no specific one was given (herodot's defaults).
    pub fn default_message(code: u16) -> &'static str {
        match code {
            400 => "The request was malformed or contained invalid parameters",
            401 => "The request could not be authorized",
            403 => "The requested action was forbidden",
            404 => "The requested resource could not be found",
            409 => "The resource could not be created due to a conflict",
            405 => "Method not allowed",
            408 => "The request was not received in time",
            410 => "The requested resource is no longer available",
            415 => "The request's content type is not supported",
            413 => "The request body is too large",
            422 => {
                "The request was well-formed but was unable to be followed due to semantic errors"
            }
            429 => "Too many requests",
            503 => "The service is currently unavailable",
            _ => "An internal server error occurred, please contact the system administrator",
        }
    }
}

/// Every failure in the crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A failure the client caused or must act on; answered with its own status (4xx, or 5xx for
    /// misconfiguration).
    #[error("{} {}", .0.code, .0.reason.as_deref().unwrap_or(""))]
    Api(Box<ApiError>),
    /// A database failure not mapped to a client error: 500, details logged, never sent.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else unexpected: 500, details logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// A write that would duplicate a unique value (a credential identifier, an external id): 409
    /// with the reason at the HTTP edge; flows turn it into a message on the form.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write based on a read that another request has changed since (optimistic concurrency):
    /// read again and retry, or answer 409.
    #[error("the record was changed by another request")]
    Stale,
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// 400 with a reason.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        ApiError::new(400).with_reason(reason).into()
    }
    /// 404 as the database layer reports it.
    pub fn not_found() -> Self {
        ApiError::new(404)
            .with_message("Unable to locate the resource")
            .into()
    }
    /// 404 with a specific reason.
    pub fn not_found_reason(reason: impl Into<String>) -> Self {
        ApiError::new(404).with_reason(reason).into()
    }
    /// 409 for a unique-constraint clash.
    pub fn conflict(reason: impl Into<String>) -> Self {
        Error::Conflict(reason.into())
    }
    pub fn forbidden(reason: impl Into<String>) -> Self {
        ApiError::new(403).with_reason(reason).into()
    }
    /// A path segment that should have been a UUID.
    pub fn bad_uuid(err: impl std::fmt::Display) -> Self {
        ApiError::new(400)
            .with_message(err.to_string())
            .with_debug("could not parse UUID")
            .into()
    }
    /// 401 `session_inactive`.
    pub fn session_inactive(reason: &str) -> Self {
        ApiError::new(401)
            .with_id(id::SESSION_INACTIVE)
            .with_reason(reason)
            .with_message("request does not have a valid authentication session")
            .into()
    }
    /// 400 `self_service_flow_return_to_forbidden`.
    pub fn return_to_forbidden(url: &str) -> Self {
        ApiError::new(400)
            .with_id(id::RETURN_TO_FORBIDDEN)
            .with_reason(format!("Requested return_to URL \"{url}\" is not allowed."))
            .with_message("return_to URL is not allowed")
            .into()
    }
    /// 500 `invalid_configuration`.
    pub fn misconfiguration(reason: impl Into<String>) -> Self {
        ApiError::new(500)
            .with_id(id::INVALID_CONFIGURATION)
            .with_reason(reason)
            .with_message("The request failed because of a misconfiguration")
            .into()
    }
    /// 403 `security_csrf_violation`, naming which check failed.
    pub fn csrf_violation(reject_reason: &str) -> Self {
        ApiError::new(403)
            .with_id(id::SECURITY_CSRF_VIOLATION)
            .with_reason("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
            .with_message("the request was rejected to protect you from Cross-Site-Request-Forgery")
            .with_detail("docs", "https://www.ory.sh/kratos/docs/debug/csrf")
            .with_detail("hint", "The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).")
            .with_detail("reject_reason", reject_reason)
            .into()
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(anyhow::anyhow!(msg.into()))
    }
}
