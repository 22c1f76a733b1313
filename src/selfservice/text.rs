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
pub fn second_factor_challenge() -> Message {
    Message::info(
        1010004,
        "Please complete the second authentication challenge.",
    )
}
pub fn sign_in_with_password() -> Message {
    Message::info(1010022, "Sign in with password")
}
pub fn sign_in_with_security_key() -> Message {
    Message::info(1010008, "Sign in with hardware key")
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
pub fn email_label() -> Message {
    Message::info(1070007, "Email")
}
pub fn submit_label() -> Message {
    Message::info(1070005, "Submit")
}
pub fn continue_label() -> Message {
    Message::info(1070009, "Continue")
}
pub fn save_label() -> Message {
    Message::info(1070003, "Save")
}
pub fn resend_label() -> Message {
    Message::info(1070008, "Resend code")
}
pub fn recovery_code_label() -> Message {
    Message::info(1070010, "Recovery code")
}
pub fn verification_code_label() -> Message {
    Message::info(1070011, "Verification code")
}
pub fn settings_saved() -> Message {
    Message::success(1050001, "Your changes have been saved!")
}
pub fn recovery_code_sent() -> Message {
    Message::info(1060003, "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.")
}
pub fn recovery_link_sent() -> Message {
    Message::info(1060002, "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.")
}
pub fn recovery_success() -> Message {
    Message::success(1060001, "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next 60.00 minutes.")
}
/// The message id of a wrong recovery code (the form is shown again: not an error status).
pub const RECOVERY_CODE_INVALID: u32 = 4060006;
/// The message id of a wrong verification code.
pub const VERIFICATION_CODE_INVALID: u32 = 4070006;

pub fn recovery_code_invalid() -> Message {
    Message::error(
        RECOVERY_CODE_INVALID,
        "The recovery code is invalid or has already been used. Please try again.",
    )
}
pub fn recovery_token_invalid() -> Message {
    Message::error(
        4060004,
        "The recovery token is invalid or has already been used. Please retry the flow.",
    )
}
pub fn verification_code_sent() -> Message {
    Message::info(1080003, "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.")
}
pub fn verification_link_sent() -> Message {
    Message::info(1080001, "An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.")
}
pub fn verification_success() -> Message {
    Message::success(1080002, "You successfully verified your email address.")
}
pub fn verification_code_invalid() -> Message {
    Message::error(
        VERIFICATION_CODE_INVALID,
        "The verification code is invalid or has already been used. Please try again.",
    )
}
pub fn verification_token_invalid() -> Message {
    Message::error(
        4070001,
        "The verification token is invalid or has already been used. Please retry the flow.",
    )
}
pub fn same_password() -> Message {
    Message::error(
        4000039,
        "The new password must be different from the old password.",
    )
}
pub fn settings_expired(minutes: f64) -> Message {
    Message::error(
        4050001,
        format!("The settings flow expired {minutes:.2} minutes ago, please try again."),
    )
}
pub fn recovery_expired(minutes: f64) -> Message {
    Message::error(
        4060005,
        format!("The recovery flow expired {minutes:.2} minutes ago, please try again."),
    )
}
pub fn verification_expired(minutes: f64) -> Message {
    Message::error(
        4070005,
        format!("The verification flow expired {minutes:.2} minutes ago, please try again."),
    )
}
