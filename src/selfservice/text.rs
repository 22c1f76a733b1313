//! UI message texts with Kratos's numeric ids (`text/id.go` numbering), written out one by one.

use super::ui::Message;
use serde_json::json;

pub fn sign_in() -> Message {
    Message::info(1010001, "Sign in")
}
pub fn refresh_confirm() -> Message {
    Message::info(
        1010003,
        "Please confirm this action by verifying that it is you.",
    )
}
pub fn sign_in_with_password() -> Message {
    Message::info(1010022, "Sign in with password")
}
pub fn sign_up() -> Message {
    Message::info(1040001, "Sign up")
}
pub fn password_label() -> Message {
    Message::info(1070001, "Password")
}
pub fn id_label() -> Message {
    Message::info(1070004, "ID")
}
pub fn generic_error(reason: &str) -> Message {
    Message::error(4000001, reason).with_context(json!({ "reason": reason }))
}
pub fn missing(property: &str) -> Message {
    Message::error(4000002, format!("Property {property} is missing."))
        .with_context(json!({ "property": property }))
}
pub fn invalid_credentials() -> Message {
    Message::error(
        4000006,
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
    )
}
pub fn duplicate_identifier() -> Message {
    Message::error(
        4000007,
        "An account with the same identifier (email, phone, username, ...) exists already.",
    )
}
pub fn password_too_similar() -> Message {
    Message::error(
        4000031,
        "The password can not be used because it is too similar to the identifier.",
    )
}
pub fn password_too_short(min: usize, actual: usize) -> Message {
    Message::error(
        4000032,
        format!("The password must be at least {min} characters long, but got {actual}."),
    )
    .with_context(json!({ "min_length": min, "actual_length": actual }))
}
pub fn password_too_long(max: usize, actual: usize) -> Message {
    Message::error(
        4000033,
        format!("The password must be at most {max} characters long, but got {actual}."),
    )
    .with_context(json!({ "max_length": max, "actual_length": actual }))
}
pub fn login_expired(minutes: f64) -> Message {
    Message::error(
        4010001,
        format!("The login flow expired {minutes:.2} minutes ago, please try again."),
    )
    .with_context(json!({ "expired_at_unix": 0 }))
}
pub fn registration_expired(minutes: f64) -> Message {
    Message::error(
        4040001,
        format!("The registration flow expired {minutes:.2} minutes ago, please try again."),
    )
}
pub fn no_login_strategy() -> Message {
    Message::error(
        4010002,
        "Could not find a strategy to log you in with. Did you fill out the form correctly?",
    )
}
pub fn no_registration_strategy() -> Message {
    Message::error(
        4010003,
        "Could not find a strategy to sign you up with. Did you fill out the form correctly?",
    )
}
pub fn already_completed() -> Message {
    Message::error(
        4010007,
        "The request was already completed successfully and can not be retried.",
    )
}
