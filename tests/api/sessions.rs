//! My sessions (list, revoke one, revoke others), the admin session API, and races.

use crate::both_backends;
use crate::helpers::{TestApp, PASSWORD};
use serde_json::{json, Value};

async fn sessions_of(app: &TestApp, email: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..n {
        tokens.push(app.native_login(email, PASSWORD).await);
    }
    tokens
}

fn session_id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The `rel="next"` URL of a `Link` header, if any.
fn next_link(link: &str) -> Option<String> {
    link.split(',')
        .find(|p| p.contains("rel=\"next\""))
        .and_then(|p| p.split(['<', '>']).nth(1))
        .map(str::to_string)
}

both_backends!(list_revoke_one_and_others, |app: TestApp| async move {
    app.create_identity("apoc@example.com", Some(PASSWORD))
        .await;
    app.create_identity("switch@example.com", Some(PASSWORD))
        .await;
    let mine = sessions_of(&app, "apoc@example.com", 4).await;
    let theirs = sessions_of(&app, "switch@example.com", 1).await;
    let c = reqwest::Client::new();
    let current = &mine[0];

    let res = c
        .get(app.public("/sessions"))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-total-count"], "3");
    assert!(res.headers()["link"]
        .to_str()
        .unwrap()
        .contains("rel=\"first\""));
    let list: Value = res.json().await.unwrap();
    let me = session_id(&app.whoami(current).await.1);
    let ids: Vec<String> = list.as_array().unwrap().iter().map(session_id).collect();
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&me), "the current session is not listed");
    assert!(list[0]["identity"]["id"].is_string() && list[0]["devices"].is_array());

    // Pages of one walk every session once.
    let mut seen = Vec::new();
    let mut url = app.public("/sessions?page_size=1");
    for _ in 0..5 {
        let res = c
            .get(&url)
            .header("X-Session-Token", current)
            .send()
            .await
            .unwrap();
        let link = res.headers()["link"].to_str().unwrap().to_string();
        seen.extend(
            res.json::<Value>()
                .await
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(session_id),
        );
        match next_link(&link) {
            Some(next) => url = next,
            None => break,
        }
    }
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);

    // Revoking the current session is refused; another identity's session is left alone.
    let res = c
        .delete(app.public(&format!("/sessions/{me}")))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "cannot revoke current session");
    assert_eq!(body["error"]["debug"], "use the logout flow instead");
    let their_id = session_id(&app.whoami(&theirs[0]).await.1);
    let res = c
        .delete(app.public(&format!("/sessions/{their_id}")))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.whoami(&theirs[0]).await.0,
        200,
        "foreign session untouched"
    );
    let res = c
        .delete(app.public("/sessions/not-a-uuid"))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = c
        .delete(app.public(&format!("/sessions/{}", uuid::Uuid::new_v4())))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    // Revoke one of mine.
    let res = c
        .delete(app.public(&format!("/sessions/{}", ids[0])))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let alive: Vec<u16> =
        futures::future::join_all(mine.iter().map(|t| async { app.whoami(t).await.0 })).await;
    assert_eq!(alive.iter().filter(|s| **s == 401).count(), 1);

    // Revoke all others: count, then only the current one is alive.
    let res = c
        .delete(app.public("/sessions"))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"count": 2}));
    for t in &mine[1..] {
        assert_eq!(app.whoami(t).await.0, 401);
    }
    assert_eq!(app.whoami(current).await.0, 200);
    assert_eq!(app.whoami(&theirs[0]).await.0, 200);
    let res = c
        .get(app.public("/sessions"))
        .header("X-Session-Token", current)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));

    // No session: Kratos's 401 for the collection.
    let res = c.get(app.public("/sessions")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["reason"],
        "No valid session cookie found."
    );
    let res = c
        .delete(app.public("/sessions"))
        .header("X-Session-Token", &mine[1])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
});

both_backends!(admin_session_api, |app: TestApp| async move {
    let identity = app
        .create_identity("niobe@example.com", Some(PASSWORD))
        .await;
    let iid = identity["id"].as_str().unwrap().to_string();
    let tokens = sessions_of(&app, "niobe@example.com", 3).await;
    let c = &app.client;

    let res = c
        .get(app.admin("/admin/sessions?page_size=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let link = res.headers()["link"].to_str().unwrap().to_string();
    assert!(link.contains("rel=\"next\""), "{link}");
    let page: Value = res.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert!(page[0]["identity"].is_null() && page[0]["devices"].is_null());
    let next = next_link(&link).unwrap();
    let page2: Value = c.get(&next).send().await.unwrap().json().await.unwrap();
    assert_eq!(page2.as_array().unwrap().len(), 1);
    let res = c
        .get(app.admin("/admin/sessions?expand=identity&expand=Devices"))
        .send()
        .await
        .unwrap();
    let full: Value = res.json().await.unwrap();
    assert_eq!(full[0]["identity"]["id"], iid.as_str());
    assert!(full[0]["devices"].is_array());
    assert_eq!(
        c.get(app.admin("/admin/sessions?expand=bogus"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.get(app.admin("/admin/sessions?active=maybe"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.get(app.admin("/admin/sessions?page_token=!!!"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let sid = session_id(&app.whoami(&tokens[0]).await.1);
    let one: Value = c
        .get(app.admin(&format!("/admin/sessions/{sid}?expand=identity")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], sid.as_str());
    assert_eq!(one["active"], true);
    assert_eq!(
        c.get(app.admin(&format!("/admin/sessions/{}", uuid::Uuid::new_v4())))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(app.admin("/admin/sessions/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let res = c
        .get(app.admin("/admin/sessions/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        app.public("/sessions/whoami")
    );

    // Extend: 200 + session with identity.
    let before = one["expires_at"].as_str().unwrap().to_string();
    app.registry.clock.advance(chrono::Duration::minutes(10));
    let res = c
        .patch(app.admin(&format!("/admin/sessions/{sid}/extend")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ext: Value = res.json().await.unwrap();
    assert!(ext["expires_at"].as_str().unwrap() > before.as_str());
    assert_eq!(ext["identity"]["id"], iid.as_str());
    assert_eq!(
        c.patch(app.admin(&format!("/admin/sessions/{}/extend", uuid::Uuid::new_v4())))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Disable: 204, then inactive; unknown 404.
    assert_eq!(
        c.delete(app.admin(&format!("/admin/sessions/{sid}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(app.whoami(&tokens[0]).await.0, 401);
    let one: Value = c
        .get(app.admin(&format!("/admin/sessions/{sid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["active"], false);
    assert_eq!(
        c.delete(app.admin(&format!("/admin/sessions/{}", uuid::Uuid::new_v4())))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Identity sessions: list with active filter, delete all, then 404.
    let res = c
        .get(app.admin(&format!("/admin/identities/{iid}/sessions?active=true")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-total-count"], "2");
    let res = c
        .get(app.admin(&format!("/admin/identities/{iid}/sessions?active=false")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap().as_array().unwrap().len(),
        1
    );
    let res = c
        .get(app.admin(&format!(
            "/admin/identities/{}/sessions",
            uuid::Uuid::new_v4()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
    assert_eq!(
        c.delete(app.admin(&format!("/admin/identities/{iid}/sessions")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(app.whoami(&tokens[1]).await.0, 401);
    assert_eq!(
        c.delete(app.admin(&format!("/admin/identities/{iid}/sessions")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Deleting an identity takes its sessions with it.
    let t = app.native_login("niobe@example.com", PASSWORD).await;
    assert_eq!(
        c.delete(app.admin(&format!("/admin/identities/{iid}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(app.whoami(&t).await.0, 401);
    // Public port does not serve admin session routes.
    assert_eq!(
        reqwest::Client::new()
            .patch(app.public(&format!("/sessions/{sid}/extend")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
});

// 50 parallel logins of one identifier from one address are more than the brute-force limits
// let through (attempts are counted before the password is checked): raised for this test.
crate::both_backends_with!(
    races_leave_no_half_revoked_session,
    json!({"ostiary": {"rate_limit": {"login_per_identifier_and_address": 1000, "login_per_identifier": 1000}}}),
    |app: TestApp| async move {
        app.create_identity("ghost@example.com", Some(PASSWORD))
            .await;
        // 50 parallel logins of one identity: 50 distinct working sessions.
        let logins = (0..50).map(|_| app.native_login("ghost@example.com", PASSWORD));
        let tokens: Vec<String> = futures::future::join_all(logins).await;
        let mut unique = tokens.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 50);
        let statuses =
            futures::future::join_all(tokens.iter().map(|t| async { app.whoami(t).await.0 })).await;
        assert!(statuses.iter().all(|s| *s == 200));

        // Two concurrent "revoke all others" from two sessions: afterwards at most those two survive,
        // and every other session answers 401.
        let c = reqwest::Client::new();
        let revoke = |t: String| {
            let c = c.clone();
            let url = app.public("/sessions");
            async move {
                c.delete(url)
                    .header("X-Session-Token", t)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (a, b) = tokio::join!(revoke(tokens[0].clone()), revoke(tokens[1].clone()));
        assert!(a == 200 || a == 401);
        assert!(b == 200 || b == 401);
        assert!(a == 200 || b == 200);
        for t in &tokens[2..] {
            assert_eq!(app.whoami(t).await.0, 401);
        }
        let alive =
            futures::future::join_all(tokens[..2].iter().map(|t| async { app.whoami(t).await.0 }))
                .await;
        assert_eq!(
            alive.iter().filter(|s| **s == 200).count(),
            1,
            "exactly one revoker survives"
        );

        // A logout racing whoami: after the 204 every whoami is 401.
        let t = app.native_login("ghost@example.com", PASSWORD).await;
        let whoamis = async {
            let mut out = Vec::new();
            for _ in 0..20 {
                out.push(app.whoami(&t).await.0);
            }
            out
        };
        let logout = async {
            c.delete(app.public("/self-service/logout/api"))
                .json(&json!({"session_token": t}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        };
        let (statuses, logout_status) = tokio::join!(whoamis, logout);
        assert_eq!(logout_status, 204);
        assert!(statuses.iter().all(|s| *s == 200 || *s == 401));
        // Once a 401 was seen, no later 200.
        if let Some(first) = statuses.iter().position(|s| *s == 401) {
            assert!(statuses[first..].iter().all(|s| *s == 401), "{statuses:?}");
        }
        assert_eq!(app.whoami(&t).await.0, 401);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sliding_sessions_extend_when_configured() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        json!({"session": {"lifespan": "1h", "earliest_possible_extend": "10m"}, "ostiary": {"session": {"sliding": true}}}),
    )
    .await;
    app.create_identity("slide@example.com", Some(PASSWORD))
        .await;
    let token = app.native_login("slide@example.com", PASSWORD).await;
    let first = app.whoami(&token).await.1["expires_at"]
        .as_str()
        .unwrap()
        .to_string();
    // Too early to extend: unchanged.
    app.registry.clock.advance(chrono::Duration::minutes(30));
    assert_eq!(
        app.whoami(&token).await.1["expires_at"].as_str().unwrap(),
        first
    );
    // Within the last 10 minutes: extended by the lifespan, so it outlives the original expiry.
    app.registry.clock.advance(chrono::Duration::minutes(25));
    let extended = app.whoami(&token).await.1["expires_at"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(extended > first);
    app.registry.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(
        app.whoami(&token).await.0,
        200,
        "alive past the original expiry"
    );
}

both_backends!(
    sessions_do_not_slide_by_default,
    |app: TestApp| async move {
        app.create_identity("noslide@example.com", Some(PASSWORD))
            .await;
        let token = app.native_login("noslide@example.com", PASSWORD).await;
        let first = app.whoami(&token).await.1["expires_at"]
            .as_str()
            .unwrap()
            .to_string();
        app.registry.clock.advance(chrono::Duration::hours(23));
        assert_eq!(
            app.whoami(&token).await.1["expires_at"].as_str().unwrap(),
            first
        );
    }
);

both_backends!(
    cleanup_deletes_only_expired_data,
    |app: TestApp| async move {
        app.create_identity("janitor@example.com", Some(PASSWORD))
            .await;
        let old = app.native_login("janitor@example.com", PASSWORD).await;
        reqwest::get(app.public("/self-service/login/api"))
            .await
            .unwrap();
        app.registry.clock.advance(chrono::Duration::hours(30));
        let fresh = app.native_login("janitor@example.com", PASSWORD).await;
        let now = app.registry.clock.now();
        let cleaned = app
            .registry
            .persister
            .cleanup(now, 1, std::time::Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(cleaned.sessions, 1, "{cleaned:?}");
        assert!(cleaned.flows >= 2, "{cleaned:?}");
        assert_eq!(app.whoami(&old).await.0, 401);
        assert_eq!(app.whoami(&fresh).await.0, 200, "live sessions stay");
        let again = app
            .registry
            .persister
            .cleanup(now, 10, std::time::Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(again.total(), 0);
    }
);

// "Revoke all others" writes one marker on the identity instead of every session row: every way of
// reading sessions must still see exactly the sessions it revoked as inactive — and none else.
both_backends!(
    revoking_all_others_shows_everywhere,
    |app: TestApp| async move {
        let identity = app
            .create_identity("marker@example.com", Some(PASSWORD))
            .await;
        let iid = identity["id"].as_str().unwrap().to_string();
        app.create_identity("bystander@example.com", Some(PASSWORD))
            .await;
        let bystander = app.native_login("bystander@example.com", PASSWORD).await;
        let tokens = sessions_of(&app, "marker@example.com", 3).await;
        let ids: Vec<String> = {
            let mut v = Vec::new();
            for t in &tokens {
                v.push(session_id(&app.whoami(t).await.1));
            }
            v
        };
        let c = reqwest::Client::new();
        let revoke_others = |token: String| {
            let c = c.clone();
            let url = app.public("/sessions");
            async move {
                let res = c
                    .delete(url)
                    .header("X-Session-Token", token)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let admin_ids = |query: &'static str| {
            let c = c.clone();
            let url = app.admin(&format!("/admin/identities/{iid}/sessions{query}"));
            async move {
                let list: Value = c.get(url).send().await.unwrap().json().await.unwrap();
                let mut v: Vec<(String, bool)> = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| (session_id(s), s["active"].as_bool().unwrap()))
                    .collect();
                v.sort();
                v
            }
        };

        // Keep the first, revoke the two others.
        let (st, body) = revoke_others(tokens[0].clone()).await;
        assert_eq!((st, &body), (200, &json!({"count": 2})));
        assert_eq!(app.whoami(&tokens[0]).await.0, 200);
        assert_eq!(app.whoami(&tokens[1]).await.0, 401);
        assert_eq!(app.whoami(&tokens[2]).await.0, 401);
        assert_eq!(
            app.whoami(&bystander).await.0,
            200,
            "other identities untouched"
        );
        let mut expect = vec![
            (ids[0].clone(), true),
            (ids[1].clone(), false),
            (ids[2].clone(), false),
        ];
        expect.sort();
        assert_eq!(admin_ids("").await, expect);
        assert_eq!(
            admin_ids("?active=true").await,
            vec![(ids[0].clone(), true)]
        );
        let mut inactive: Vec<(String, bool)> =
            vec![(ids[1].clone(), false), (ids[2].clone(), false)];
        inactive.sort();
        assert_eq!(admin_ids("?active=false").await, inactive);
        // listMySessions: no other active session left.
        let res = c
            .get(app.public("/sessions"))
            .header("X-Session-Token", &tokens[0])
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-total-count"], "0");
        assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
        // The admin API, one by one and in the global list.
        for (i, active) in [(0, true), (1, false), (2, false)] {
            let s: Value = c
                .get(app.admin(&format!("/admin/sessions/{}", ids[i])))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(s["active"], active, "session {i}: {s}");
        }
        let all: Value = c
            .get(app.admin("/admin/sessions?active=false"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut listed: Vec<String> = all.as_array().unwrap().iter().map(session_id).collect();
        listed.sort();
        let mut want = vec![ids[1].clone(), ids[2].clone()];
        want.sort();
        assert_eq!(listed, want, "admin list of inactive sessions");
        // A revoked session cannot revoke others.
        assert_eq!(revoke_others(tokens[1].clone()).await.0, 401);

        // A new session made afterwards is untouched; revoking from it counts only what was
        // still active (the one kept before), and revokes that.
        let newer = app.native_login("marker@example.com", PASSWORD).await;
        let newer_id = session_id(&app.whoami(&newer).await.1);
        let res = c
            .get(app.public("/sessions"))
            .header("X-Session-Token", &newer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-total-count"], "1", "the one kept before");
        assert_eq!(
            res.json::<Value>().await.unwrap()[0]["id"],
            ids[0].as_str(),
            "listMySessions from the newer session"
        );
        let (st, body) = revoke_others(newer.clone()).await;
        assert_eq!((st, &body), (200, &json!({"count": 1})));
        assert_eq!(app.whoami(&newer).await.0, 200);
        assert_eq!(app.whoami(&tokens[0]).await.0, 401);
        assert_eq!(
            admin_ids("?active=true").await,
            vec![(newer_id.clone(), true)],
            "only the newest is active"
        );
        // The global admin list, page by page (keyset pagination across marker-revoked rows).
        let mut active = Vec::new();
        let mut url = app.admin("/admin/sessions?active=true&page_size=1");
        for _ in 0..10 {
            let res = c.get(&url).send().await.unwrap();
            let link = res
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_string());
            active.extend(
                res.json::<Value>()
                    .await
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(session_id),
            );
            match link.as_deref().and_then(next_link) {
                Some(next) => url = next,
                None => break,
            }
        }
        active.sort();
        let bystander_id = session_id(&app.whoami(&bystander).await.1);
        let mut want = vec![newer_id.clone(), bystander_id];
        want.sort();
        assert_eq!(active, want, "active sessions across all identities");
        // Nothing left to revoke.
        let (st, body) = revoke_others(newer.clone()).await;
        assert_eq!((st, &body), (200, &json!({"count": 0})));
        assert_eq!(app.whoami(&bystander).await.0, 200);
        // A session whose application timestamp lies before the marker — a node with a slow
        // clock, or a login that took its time before its session was written — is still new:
        // the marker compares the database's insertion clock.
        app.registry.clock.advance(chrono::Duration::minutes(-10));
        let skewed = app.native_login("marker@example.com", PASSWORD).await;
        app.registry.clock.advance(chrono::Duration::minutes(10));
        assert_eq!(
            app.whoami(&skewed).await.0,
            200,
            "a later session is not revoked"
        );
        let (st, body) = revoke_others(newer.clone()).await;
        assert_eq!((st, &body), (200, &json!({"count": 1})));
        assert_eq!(app.whoami(&skewed).await.0, 401);
        assert_eq!(app.whoami(&newer).await.0, 200);
    }
);

both_backends!(
    a_write_whose_caller_went_away_still_invalidates_the_cache,
    |app: TestApp| async move {
        use futures::FutureExt;
        let identity = app
            .create_identity("gone@example.com", Some(PASSWORD))
            .await;
        let identity_id: ostiary::ids::IdentityId =
            identity["id"].as_str().unwrap().parse().unwrap();
        let p = app.registry.persister.clone();
        let sessions = app.registry.sessions();
        let store = app.registry.session_store.clone();
        // A session checked twice (so cached on this node), then a write started and dropped
        // after its first poll: what a handler's future goes through when its client
        // disconnects mid-request. Once the write units have ended, whoami must see the write.
        let cached = |token: String| {
            let app = &app;
            async move {
                assert_eq!(app.whoami(&token).await.0, 200);
                let (status, body) = app.whoami(&token).await;
                assert_eq!(status, 200);
                body["id"]
                    .as_str()
                    .unwrap()
                    .parse::<ostiary::ids::SessionId>()
                    .unwrap()
            }
        };

        // Native logout.
        let token = app.native_login("gone@example.com", PASSWORD).await;
        let id = cached(token.clone()).await;
        let _ = sessions.logout_by_token(&token).now_or_never();
        store.settled().await;
        // The write was not lost with its caller, and neither was the invalidation after it.
        assert!(!p.get_session(id).await.unwrap().unwrap().active);
        assert_eq!(app.whoami(&token).await.0, 401, "logout");

        // Admin revoke by id.
        let token = app.native_login("gone@example.com", PASSWORD).await;
        let id = cached(token.clone()).await;
        let _ = sessions.revoke(id).now_or_never();
        store.settled().await;
        assert_eq!(app.whoami(&token).await.0, 401, "admin revoke");

        // Revoke all other sessions.
        let keep = app.native_login("gone@example.com", PASSWORD).await;
        let other = app.native_login("gone@example.com", PASSWORD).await;
        let keep_id = cached(keep.clone()).await;
        cached(other.clone()).await;
        let _ = sessions.revoke_others(identity_id, keep_id).now_or_never();
        store.settled().await;
        assert_eq!(app.whoami(&other).await.0, 401, "revoke others");
        assert_eq!(app.whoami(&keep).await.0, 200, "the kept session");

        // The identity deactivated.
        let mut i = p.get_identity(identity_id, true).await.unwrap().unwrap();
        i.state = ostiary::identity::State::Inactive;
        let _ = sessions.update_identity(&i).now_or_never();
        store.settled().await;
        assert_eq!(app.whoami(&keep).await.0, 401, "identity deactivated");
    }
);

both_backends!(
    logout_tokens_are_bounded_per_session,
    |app: TestApp| async move {
        use ostiary::session::token::digest;
        app.create_identity("bye@example.com", Some(PASSWORD)).await;
        let mint = |token: String| {
            let app = &app;
            async move {
                let res = reqwest::Client::new()
                    .get(app.public("/self-service/logout/browser"))
                    .header("X-Session-Token", &token)
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let body: Value = res.json().await.unwrap();
                body["logout_token"].as_str().unwrap().to_string()
            }
        };
        let id_of = |token: String| {
            let app = &app;
            async move {
                let (status, body) = app.whoami(&token).await;
                assert_eq!(status, 200);
                body["id"]
                    .as_str()
                    .unwrap()
                    .parse::<ostiary::ids::SessionId>()
                    .unwrap()
            }
        };
        let p = app.registry.persister.clone();
        let a = app.native_login("bye@example.com", PASSWORD).await;
        let b = app.native_login("bye@example.com", PASSWORD).await;
        let (a_id, b_id) = (id_of(a.clone()).await, id_of(b.clone()).await);
        let mut b_tokens = Vec::new();
        for _ in 0..3 {
            b_tokens.push(mint(b.clone()).await);
        }
        let mut a_tokens = Vec::new();
        for _ in 0..20 {
            a_tokens.push(mint(a.clone()).await);
        }
        // Session A keeps its newest 16 tokens; the four oldest are gone.
        for (i, t) in a_tokens.iter().enumerate() {
            assert_eq!(
                p.is_logout_token_of(a_id, &digest(t)).await.unwrap(),
                i >= 4,
                "token {i}"
            );
        }
        // Another session's tokens are untouched.
        for t in &b_tokens {
            assert!(p.is_logout_token_of(b_id, &digest(t)).await.unwrap());
        }
        // An evicted token no longer logs out; the newest does.
        let logout = |token: String, logout_token: String| {
            let app = &app;
            async move {
                reqwest::Client::new()
                    .get(app.public("/self-service/logout"))
                    .query(&[("token", logout_token)])
                    .header("X-Session-Token", &token)
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(logout(a.clone(), a_tokens[0].clone()).await, 403);
        assert_eq!(app.whoami(&a).await.0, 200);
        assert_eq!(logout(a.clone(), a_tokens[19].clone()).await, 204);
        assert_eq!(app.whoami(&a).await.0, 401);
        assert_eq!(app.whoami(&b).await.0, 200);
    }
);

/// Wait until the janitor has completed two more passes, so that one of them began after now.
async fn two_janitor_passes(app: &TestApp) {
    let mut passes = app.registry.persister.cleanup_passes();
    let seen = *passes.borrow_and_update();
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        passes.wait_for(|n| *n >= seen + 2),
    )
    .await
    .expect("the janitor runs")
    .unwrap();
}

/// With the default configuration (only the interval shortened, so the test need not wait an hour)
/// the janitor runs inside the server and removes expired API flows and sessions once they have
/// been expired for the default retention (24 h), and nothing sooner.
async fn the_janitor_runs_by_default(backend: crate::helpers::Backend) {
    let app = crate::helpers::spawn_app_with(
        backend,
        json!({"ostiary": {"cleanup": {"interval": "20ms"}}}),
    )
    .await;
    let defaults = ostiary::config::Cleanup::default();
    assert!(app.registry.config.ostiary.cleanup.enabled && defaults.enabled);
    assert_eq!(
        app.registry.config.ostiary.cleanup.keep_for.0,
        chrono::Duration::hours(24)
    );
    app.create_identity("sweep@example.com", Some(PASSWORD))
        .await;
    let token = app.native_login("sweep@example.com", PASSWORD).await;
    let session = session_id(&app.whoami(&token).await.1);
    let c = reqwest::Client::new();
    let mut flows = Vec::new();
    for kind in ["login", "registration"] {
        let flow: Value = c
            .get(app.public(&format!("/self-service/{kind}/api")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        flows.push((kind, flow["id"].as_str().unwrap().to_string()));
    }
    let flow_status = |kind: &'static str, id: String| {
        let c = c.clone();
        let url = app.public(&format!("/self-service/{kind}/flows?id={id}"));
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    let session_status = || {
        let c = c.clone();
        let url = app.admin(&format!("/admin/sessions/{session}"));
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };

    // The flows expired (after 1 h) 19 h ago, within the retention: kept.
    app.registry.clock.advance(chrono::Duration::hours(20));
    two_janitor_passes(&app).await;
    for (kind, id) in &flows {
        assert_eq!(flow_status(kind, id.clone()).await, 410, "{kind}");
    }
    assert_eq!(session_status().await, 200);

    // The flows expired 49 h ago and the session (after 24 h) 26 h ago, longer than the retention:
    // gone. A flow started now is kept.
    app.registry.clock.advance(chrono::Duration::hours(30));
    let fresh: Value = c
        .get(app.public("/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    two_janitor_passes(&app).await;
    for (kind, id) in &flows {
        assert_eq!(flow_status(kind, id.clone()).await, 404, "{kind}");
    }
    assert_eq!(session_status().await, 404);
    assert_eq!(
        flow_status("login", fresh["id"].as_str().unwrap().to_string()).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_janitor_runs_by_default_sqlite() {
    the_janitor_runs_by_default(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_janitor_runs_by_default_postgres() {
    if !crate::helpers::postgres_available().await {
        return;
    }
    the_janitor_runs_by_default(crate::helpers::Backend::Postgres).await;
}
