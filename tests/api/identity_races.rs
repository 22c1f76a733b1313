//! Lost updates on identities: a write based on a stale read is refused (optimistic concurrency),
//! and the self-service writes (address verification, re-hash) re-read and change only their own
//! part, so they never revert an admin's change such as a deactivation.

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};
use ostiary::error::Error;
use ostiary::ids::IdentityId;
use serde_json::{json, Value};

async fn patch(app: &TestApp, id: &str, ops: Value) -> u16 {
    app.client
        .patch(app.admin(&format!("/admin/identities/{id}")))
        .json(&ops)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

both_backends!(
    a_stale_write_is_refused_and_verification_keeps_a_deactivation,
    |app: TestApp| async move {
        let created = app
            .create_identity("race@example.com", Some(PASSWORD))
            .await;
        let id_str = created["id"].as_str().unwrap().to_string();
        let id: IdentityId = id_str.parse().unwrap();
        let p = &app.registry.persister;
        // A copy read before the admin's change...
        let mut stale = p.get_identity(id, true).await.unwrap().unwrap();
        assert_eq!(
            patch(
                &app,
                &id_str,
                json!([{"op": "replace", "path": "/state", "value": "inactive"}])
            )
            .await,
            200
        );
        // ...cannot be written back over it.
        stale.traits = json!({"email": "race@example.com"});
        let sessions = app.registry.sessions();
        assert!(matches!(
            sessions.update_identity(&stale).await,
            Err(Error::Stale)
        ));
        // Address verification changes only the address.
        let now = app.registry.clock.now();
        let mut verified = false;
        sessions
            .modify_identity(id, |i| {
                verified = i.mark_address_verified("race@example.com", now);
                verified
            })
            .await
            .unwrap();
        assert!(verified);
        let now: Value = app
            .client
            .get(app.admin(&format!("/admin/identities/{id_str}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(now["state"], "inactive", "the deactivation stays");
        assert_eq!(now["verifiable_addresses"][0]["verified"], true);
    }
);

both_backends!(
    concurrent_admin_patches_and_verifications_lose_nothing,
    |app: TestApp| async move {
        let created = app
            .create_identity("many@example.com", Some(PASSWORD))
            .await;
        let id_str = created["id"].as_str().unwrap().to_string();
        let id: IdentityId = id_str.parse().unwrap();
        assert_eq!(
            patch(
                &app,
                &id_str,
                json!([{"op": "add", "path": "/metadata_admin", "value": {}}])
            )
            .await,
            200
        );
        let patches = (0..12).map(|i| {
            let (app, id_str) = (&app, id_str.clone());
            async move {
                patch(
                    app,
                    &id_str,
                    json!([{"op": "add", "path": format!("/metadata_admin/k{i}"), "value": i}]),
                )
                .await
            }
        });
        let statuses = async { futures::future::join_all(patches).await };
        let verifications = async {
            let sessions = app.registry.sessions();
            for _ in 0..6 {
                let now = app.registry.clock.now();
                sessions
                    .modify_identity(id, |i| {
                        i.set_address_status("many@example.com", "sent", now)
                    })
                    .await
                    .unwrap();
                sessions
                    .modify_identity(id, |i| i.mark_address_verified("many@example.com", now))
                    .await
                    .unwrap();
            }
        };
        let (statuses, ()) = tokio::join!(statuses, verifications);
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let now: Value = app
            .client
            .get(app.admin(&format!("/admin/identities/{id_str}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let keys = now["metadata_admin"].as_object().unwrap().len();
        assert_eq!(keys, 12, "every admin change kept: {now}");
        assert_eq!(now["verifiable_addresses"][0]["verified"], true);
    }
);
