//! What the official-SDK suites (`sdk`, `sdk_flows`) share: SDK configurations for a test server,
//! and reading an SDK result as a success, an error response, or Kratos's error envelope.

use crate::helpers::TestApp;
use ory_kratos_client::apis::configuration::Configuration;
use ory_kratos_client::apis::Error;
use ory_kratos_client::models;
use serde_json::Value;
use std::fmt::Debug;

/// The SDK configured for the public API.
pub fn public(app: &TestApp) -> Configuration {
    Configuration {
        base_path: app.public_url.clone(),
        ..Default::default()
    }
}

/// The SDK configured for the admin API.
pub fn admin(app: &TestApp) -> Configuration {
    Configuration {
        base_path: app.admin_url.clone(),
        ..Default::default()
    }
}

/// Unwrap an SDK result; otherwise fail with the SDK's own complaint (HTTP status or serde error).
pub fn ok<T, E: Debug>(what: &str, r: Result<T, Error<E>>) -> T {
    match r {
        Ok(v) => v,
        Err(Error::ResponseError(rc)) => panic!("{what}: HTTP {} {}", rc.status, rc.content),
        Err(e) => panic!("{what}: the SDK failed: {e} ({e:?})"),
    }
}

/// The status and JSON body (Null if not JSON) of an SDK error response; anything else fails.
pub fn err<T: Debug, E: Debug>(what: &str, r: Result<T, Error<E>>) -> (u16, Value) {
    match r {
        Ok(v) => panic!("{what}: expected an error response, got {v:?}"),
        Err(Error::ResponseError(rc)) => (
            rc.status.as_u16(),
            serde_json::from_str(&rc.content).unwrap_or(Value::Null),
        ),
        Err(e) => panic!("{what}: expected an error response, the SDK failed: {e} ({e:?})"),
    }
}

/// An SDK error response read as the SDK's `ErrorGeneric`; returns the status, the inner error
/// (whose `code` must equal the status) and the raw body (for top-level extras).
pub fn generic_body<T: Debug, E: Debug>(
    what: &str,
    r: Result<T, Error<E>>,
) -> (u16, models::GenericError, Value) {
    match r {
        Ok(v) => panic!("{what}: expected an error response, got {v:?}"),
        Err(Error::ResponseError(rc)) => {
            let status = rc.status.as_u16();
            assert!(
                rc.entity.is_some(),
                "{what}: the SDK could not read the error body {}",
                rc.content
            );
            let e: models::ErrorGeneric = serde_json::from_str(&rc.content).unwrap_or_else(|x| {
                panic!(
                    "{what}: {status} body is not the SDK's ErrorGeneric: {x}: {}",
                    rc.content
                )
            });
            assert_eq!(e.error.code, Some(status as i64), "{what}: {}", rc.content);
            (status, *e.error, serde_json::from_str(&rc.content).unwrap())
        }
        Err(e) => panic!("{what}: expected an error response, the SDK failed: {e} ({e:?})"),
    }
}

/// As [`generic_body`], without the raw body.
pub fn generic<T: Debug, E: Debug>(
    what: &str,
    r: Result<T, Error<E>>,
) -> (u16, models::GenericError) {
    let (status, e, _) = generic_body(what, r);
    (status, e)
}
