//! Re-authenticating a session in place (login with `refresh=true`): the row keeps its id, token
//! and insertion time; what the new authentication changes is written in one statement.

use super::Persister;
use crate::error::Result;
use crate::session::Session;
use crate::time::to_micros;

impl Persister {
    /// Write a re-authenticated session's times, assurance level, methods and devices. False when
    /// the session is no longer active (revoked meanwhile): nothing is written then.
    pub async fn reauthenticate_session(&self, s: &Session) -> Result<bool> {
        let s = s.clone();
        self.write_unit(move |p| async move {
            let ids: Vec<String> = sqlx::query_scalar(
                "UPDATE sessions SET aal = $1, authentication_methods = $2, issued_at = $3, \
                 authenticated_at = $4, expires_at = $5, devices = $6, updated_at = $7 \
                 WHERE id = $8 AND active = 1 RETURNING identity_id",
            )
            .bind(s.aal.as_str())
            .bind(serde_json::to_string(&s.authentication_methods).unwrap_or_else(|_| "[]".into()))
            .bind(to_micros(s.issued_at))
            .bind(to_micros(s.authenticated_at))
            .bind(to_micros(s.expires_at))
            .bind(serde_json::to_string(&s.devices).unwrap_or_else(|_| "[]".into()))
            .bind(to_micros(s.updated_at))
            .bind(s.id.to_string())
            .fetch_all(&p.write)
            .await?;
            Ok((!ids.is_empty(), vec![s.identity_id]))
        })
        .await
    }
}
