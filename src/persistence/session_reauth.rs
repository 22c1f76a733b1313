//! Re-authenticating a session in place (login with `refresh=true`): the row keeps its id, token
//! and insertion time; what the new authentication changes is written in one statement.

use super::session::SessionRecord;
use super::{Persister, Written};
use crate::error::Result;
use crate::time::to_micros;

impl Persister {
    /// Write a re-authenticated session's times, assurance level, methods and devices. False when
    /// the session is no longer active (revoked meanwhile): nothing is written then.
    pub async fn reauthenticate_session(&self, s: &SessionRecord) -> Result<Written<bool>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE sessions SET aal = $1, authentication_methods = $2, issued_at = $3, \
             authenticated_at = $4, expires_at = $5, devices = $6, updated_at = $7 \
             WHERE id = $8 AND active = 1 RETURNING identity_id",
        )
        .bind(&s.aal)
        .bind(&s.authentication_methods)
        .bind(to_micros(s.issued_at))
        .bind(to_micros(s.authenticated_at))
        .bind(to_micros(s.expires_at))
        .bind(&s.devices)
        .bind(to_micros(s.updated_at))
        .bind(s.id.to_string())
        .fetch_all(&self.write)
        .await?;
        Ok(Written::of(!ids.is_empty(), s.identity_id, true))
    }
}
