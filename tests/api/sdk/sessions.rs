//! The my-sessions operations, native logout, the admin session API and forwarded session cookies through the SDK.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// The "my sessions" operations and native logout.

both_backends!(sdk_my_sessions, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let apoc = create(&admin, "apoc@example.com", Some(PASSWORD)).await;
    create(&admin, "switch@example.com", Some(PASSWORD)).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(login_token(&app, &public, "apoc@example.com").await);
    }
    let theirs = login_token(&app, &public, "switch@example.com").await;
    let current = tokens[0].as_str();

    // toSession: the session, its identity and the device the SDK logged in from.
    let mut ids = Vec::new();
    for t in &tokens {
        ids.push(whoami(&public, t).await.id);
    }
    let me = whoami(&public, current).await;
    assert_eq!(me.id, ids[0]);
    assert_eq!(me.active, Some(true));
    assert_eq!(me.authenticator_assurance_level, Some(Aal::Aal1));
    assert_eq!(me.identity.as_ref().unwrap().id, apoc.id);
    let devices = me.devices.clone().unwrap_or_default();
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_eq!(devices[0].user_agent.as_deref(), Some(SDK_USER_AGENT));
    let their_id = whoami(&public, &theirs).await.id;

    // listMySessions: the other three, newest first, identity expanded, never the current one.
    let list = ok(
        "listMySessions",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(current), None).await,
    );
    let listed: Vec<String> = list.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed, [ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    for s in &list {
        assert_eq!(s.active, Some(true));
        assert_eq!(s.identity.as_ref().unwrap().id, apoc.id);
        assert!(s.devices.is_some());
    }
    let page = ok(
        "listMySessions (page_size)",
        frontend_api::list_my_sessions(&public, None, None, Some(2), None, Some(current), None)
            .await,
    );
    assert_eq!(
        page.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&ids[3], &ids[2]]
    );
    let token = next_page_token(&app.public("/sessions?page_size=2"), Some(current))
        .await
        .expect("a next page");
    let page2 = ok(
        "listMySessions (page_token)",
        frontend_api::list_my_sessions(
            &public,
            None,
            None,
            Some(2),
            Some(&token),
            Some(current),
            None,
        )
        .await,
    );
    assert_eq!(page2.iter().map(|s| &s.id).collect::<Vec<_>>(), [&ids[1]]);
    let legacy = ok(
        "listMySessions (per_page, page)",
        frontend_api::list_my_sessions(&public, Some(1), Some(0), None, None, Some(current), None)
            .await,
    );
    assert_eq!(legacy.len(), 1);

    // disableMySession: not the current one (400), silently nothing for foreign/unknown ids.
    let (status, e) = generic(
        "disableMySession (current)",
        frontend_api::disable_my_session(&public, &me.id, Some(current), None).await,
    );
    assert_eq!(status, 400);
    assert_eq!(e.message, "cannot revoke current session");
    assert_eq!(e.debug.as_deref(), Some("use the logout flow instead"));
    let (status, _) = generic(
        "disableMySession (not a uuid)",
        frontend_api::disable_my_session(&public, "not-a-uuid", Some(current), None).await,
    );
    assert_eq!(status, 400);
    ok(
        "disableMySession (foreign)",
        frontend_api::disable_my_session(&public, &their_id, Some(current), None).await,
    );
    whoami(&public, &theirs).await;
    ok(
        "disableMySession (unknown)",
        frontend_api::disable_my_session(
            &public,
            &uuid::Uuid::new_v4().to_string(),
            Some(current),
            None,
        )
        .await,
    );
    ok(
        "disableMySession",
        frontend_api::disable_my_session(&public, &ids[1], Some(current), None).await,
    );
    assert_dead(&public, &tokens[1]).await;
    let list = ok(
        "listMySessions",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(current), None).await,
    );
    assert_eq!(
        list.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&ids[3], &ids[2]]
    );
    // Revoking an already revoked one is still a success.
    ok(
        "disableMySession (again)",
        frontend_api::disable_my_session(&public, &ids[1], Some(current), None).await,
    );

    // disableMyOtherSessions: {"count": 2}; only the current session (and foreign ones) survive.
    let count = ok(
        "disableMyOtherSessions",
        frontend_api::disable_my_other_sessions(&public, Some(current), None).await,
    );
    assert_eq!(count.count, Some(2));
    for t in &tokens[1..] {
        assert_dead(&public, t).await;
    }
    assert_eq!(whoami(&public, current).await.id, ids[0]);
    whoami(&public, &theirs).await;
    let list = ok(
        "listMySessions (none left)",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(current), None).await,
    );
    assert!(list.is_empty());
    let count = ok(
        "disableMyOtherSessions (nothing left)",
        frontend_api::disable_my_other_sessions(&public, Some(current), None).await,
    );
    assert_eq!(count.count, Some(0));

    // Without a valid session: 401, no error id.
    assert_dead(&public, "ory_st_unknownunknownunknownunknown0").await;
    let (status, e) = generic(
        "toSession (no credentials)",
        frontend_api::to_session(&public, None, None, None).await,
    );
    assert_eq!(status, 401);
    assert_eq!(e.id, None);
    let (status, e) = generic(
        "listMySessions (revoked)",
        frontend_api::list_my_sessions(&public, None, None, None, None, Some(&tokens[2]), None)
            .await,
    );
    assert_eq!(status, 401);
    assert_eq!(e.reason.as_deref(), Some("No valid session cookie found."));
    let (status, _) = generic(
        "disableMyOtherSessions (revoked)",
        frontend_api::disable_my_other_sessions(&public, Some(&tokens[2]), None).await,
    );
    assert_eq!(status, 401);
    let (status, _) = generic(
        "disableMySession (revoked)",
        frontend_api::disable_my_session(&public, &ids[0], Some(&tokens[2]), None).await,
    );
    assert_eq!(status, 401);
});

both_backends!(sdk_native_logout, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    create(&admin, "mouse@example.com", Some(PASSWORD)).await;
    let t1 = login_token(&app, &public, "mouse@example.com").await;
    let t2 = login_token(&app, &public, "mouse@example.com").await;
    let s1 = whoami(&public, &t1).await;

    let logout = |token: &str| {
        frontend_api::perform_native_logout(
            &public,
            models::PerformNativeLogoutBody::new(token.to_string()),
        )
    };
    ok("performNativeLogout", logout(&t1).await);
    assert_dead(&public, &t1).await;
    // Idempotent: logging out a revoked token succeeds again.
    ok("performNativeLogout (again)", logout(&t1).await);
    // The SDK only says "success"; the status itself is 204 both times.
    let res = reqwest::Client::new()
        .delete(app.public("/self-service/logout/api"))
        .json(&models::PerformNativeLogoutBody::new(t1.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // The other session is untouched; the revoked one is kept, inactive.
    whoami(&public, &t2).await;
    let kept = ok(
        "getSession",
        identity_api::get_session(&admin, &s1.id, None).await,
    );
    assert_eq!(kept.active, Some(false));

    // Unknown or empty tokens: 403.
    for bad in ["ory_st_unknownunknownunknownunknown0", ""] {
        let (status, e) = generic("performNativeLogout (unknown)", logout(bad).await);
        assert_eq!(status, 403, "{bad:?}");
        assert_eq!(
            e.reason.as_deref(),
            Some("The provided Ory Session Token could not be found, is invalid, or otherwise malformed.")
        );
    }
    ok("performNativeLogout", logout(&t2).await);
    assert_dead(&public, &t2).await;
});

// ---------------------------------------------------------------------------------------------
// The admin session operations.

both_backends!(sdk_admin_sessions, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let niobe = create(&admin, "niobe@example.com", Some(PASSWORD)).await;
    let ghost = create(&admin, "ghost@example.com", Some(PASSWORD)).await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(login_token(&app, &public, "niobe@example.com").await);
    }
    let theirs = login_token(&app, &public, "ghost@example.com").await;
    let mut ids = Vec::new();
    for t in &tokens {
        ids.push(whoami(&public, t).await.id);
    }
    let their_id = whoami(&public, &theirs).await.id;
    let mut everyone = ids.clone();
    everyone.push(their_id.clone());
    let everyone = sorted(everyone);

    // listSessions: all, unexpanded by default; expand; pagination; active filter.
    let all = ok(
        "listSessions",
        identity_api::list_sessions(&admin, None, None, None, None).await,
    );
    assert_eq!(sorted(all.iter().map(|s| s.id.clone()).collect()), everyone);
    assert!(
        all.iter().all(|s| s.identity.is_none()),
        "identity not expanded"
    );
    assert!(all
        .iter()
        .all(|s| s.devices.as_ref().is_none_or(|d| d.is_empty())));
    let expanded = ok(
        "listSessions (expand)",
        identity_api::list_sessions(
            &admin,
            None,
            None,
            None,
            Some(vec!["identity".into(), "devices".into()]),
        )
        .await,
    );
    for s in &expanded {
        let iid = &s.identity.as_ref().expect("identity expanded").id;
        assert_eq!(
            iid,
            if s.id == their_id {
                &ghost.id
            } else {
                &niobe.id
            }
        );
        assert_eq!(s.devices.as_ref().map(|d| d.len()), Some(1));
    }
    let page = ok(
        "listSessions (page_size)",
        identity_api::list_sessions(&admin, Some(3), None, None, None).await,
    );
    assert_eq!(page.len(), 3);
    let token = next_page_token(&app.admin("/admin/sessions?page_size=3"), None)
        .await
        .expect("a next page");
    let page2 = ok(
        "listSessions (page_token)",
        identity_api::list_sessions(&admin, Some(3), Some(&token), None, None).await,
    );
    assert_eq!(page2.len(), 1);
    let mut walked: Vec<String> = page.iter().chain(&page2).map(|s| s.id.clone()).collect();
    walked = sorted(walked);
    assert_eq!(walked, everyone);
    let (status, _) = generic(
        "listSessions (bad expand)",
        identity_api::list_sessions(&admin, None, None, None, Some(vec!["bogus".into()])).await,
    );
    assert_eq!(status, 400);

    // getSession.
    let sid = ids[0].clone();
    let one = ok(
        "getSession",
        identity_api::get_session(&admin, &sid, None).await,
    );
    assert_eq!(one.id, sid);
    assert_eq!(one.active, Some(true));
    assert!(one.identity.is_none());
    let one = ok(
        "getSession (expand)",
        identity_api::get_session(
            &admin,
            &sid,
            Some(vec!["identity".into(), "devices".into()]),
        )
        .await,
    );
    assert_eq!(one.identity.as_ref().unwrap().id, niobe.id);
    assert_eq!(one.devices.as_ref().map(|d| d.len()), Some(1));
    let (status, _) = generic(
        "getSession (unknown)",
        identity_api::get_session(&admin, &uuid::Uuid::new_v4().to_string(), None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "getSession (bad id)",
        identity_api::get_session(&admin, "nope", None).await,
    );
    assert_eq!(status, 400);

    // extendSession: 200 + the session with its identity, expiring later.
    app.registry.clock.advance(chrono::Duration::minutes(10));
    let extended = ok(
        "extendSession",
        identity_api::extend_session(&admin, &sid).await,
    );
    assert_eq!(extended.id, sid);
    assert!(ts(&extended.expires_at) > ts(&one.expires_at));
    assert_eq!(extended.identity.as_ref().unwrap().id, niobe.id);
    let again = ok(
        "getSession",
        identity_api::get_session(&admin, &sid, None).await,
    );
    assert_eq!(ts(&again.expires_at), ts(&extended.expires_at));
    let (status, _) = generic(
        "extendSession (unknown)",
        identity_api::extend_session(&admin, &uuid::Uuid::new_v4().to_string()).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "extendSession (bad id)",
        identity_api::extend_session(&admin, "nope").await,
    );
    assert_eq!(status, 400);

    // disableSession: the token dies, the session stays readable as inactive.
    ok(
        "disableSession",
        identity_api::disable_session(&admin, &sid).await,
    );
    assert_dead(&public, &tokens[0]).await;
    let off = ok(
        "getSession",
        identity_api::get_session(&admin, &sid, None).await,
    );
    assert_eq!(off.active, Some(false));
    let (status, _) = generic(
        "disableSession (unknown)",
        identity_api::disable_session(&admin, &uuid::Uuid::new_v4().to_string()).await,
    );
    assert_eq!(status, 404);
    let active = ok(
        "listSessions (active=true)",
        identity_api::list_sessions(&admin, None, None, Some(true), None).await,
    );
    assert_eq!(active.len(), 3);
    assert!(active.iter().all(|s| s.id != sid));
    let inactive = ok(
        "listSessions (active=false)",
        identity_api::list_sessions(&admin, None, None, Some(false), None).await,
    );
    assert_eq!(inactive.iter().map(|s| &s.id).collect::<Vec<_>>(), [&sid]);

    // listIdentitySessions: the identity's sessions, expanded; filters; unknown identity is [].
    let list_of = |id: String, page_size: Option<i64>, active: Option<bool>| {
        let admin = admin.clone();
        async move {
            identity_api::list_identity_sessions(&admin, &id, None, None, page_size, None, active)
                .await
        }
    };
    let mine = ok(
        "listIdentitySessions",
        list_of(niobe.id.clone(), None, None).await,
    );
    assert_eq!(
        sorted(mine.iter().map(|s| s.id.clone()).collect()),
        sorted(ids.clone())
    );
    assert!(mine
        .iter()
        .all(|s| s.identity.as_ref().unwrap().id == niobe.id));
    let on = ok(
        "listIdentitySessions (active=true)",
        list_of(niobe.id.clone(), None, Some(true)).await,
    );
    assert_eq!(
        sorted(on.iter().map(|s| s.id.clone()).collect()),
        sorted(ids[1..].to_vec())
    );
    let off = ok(
        "listIdentitySessions (active=false)",
        list_of(niobe.id.clone(), None, Some(false)).await,
    );
    assert_eq!(off.iter().map(|s| &s.id).collect::<Vec<_>>(), [&sid]);
    let one_page = ok(
        "listIdentitySessions (page_size)",
        list_of(niobe.id.clone(), Some(1), None).await,
    );
    assert_eq!(one_page.len(), 1);
    let nobody = ok(
        "listIdentitySessions (unknown identity)",
        list_of(uuid::Uuid::new_v4().to_string(), None, None).await,
    );
    assert!(nobody.is_empty());
    let (status, _) = generic(
        "listIdentitySessions (bad id)",
        list_of("nope".into(), None, None).await,
    );
    assert_eq!(status, 400);

    // deleteIdentitySessions: 204, every token of the identity dies, then 404.
    ok(
        "deleteIdentitySessions",
        identity_api::delete_identity_sessions(&admin, &niobe.id).await,
    );
    for t in &tokens {
        assert_dead(&public, t).await;
    }
    whoami(&public, &theirs).await;
    let none = ok(
        "listIdentitySessions (deleted)",
        list_of(niobe.id.clone(), None, None).await,
    );
    assert!(none.is_empty(), "sessions are deleted, not revoked");
    let (status, _) = generic(
        "getSession (deleted)",
        identity_api::get_session(&admin, &ids[1], None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentitySessions (again)",
        identity_api::delete_identity_sessions(&admin, &niobe.id).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentitySessions (unknown identity)",
        identity_api::delete_identity_sessions(&admin, &uuid::Uuid::new_v4().to_string()).await,
    );
    assert_eq!(status, 404);
});

// ---------------------------------------------------------------------------------------------
// A server-side application forwarding the browser's session cookie through the SDK.

/// The `ory_kratos_session` cookie (`name=value`) of an SPA-style browser login, done over plain
/// HTTP: the SDK can read neither the flow nor (see below) the login response.
async fn browser_session_cookie(app: &TestApp, email: &str) -> String {
    let c = crate::helpers::new_client();
    let flow: Value = c
        .get(app.public("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .unwrap()["attributes"]["value"]
        .clone();
    let res = c
        .post(app.public(&format!(
            "/self-service/login?flow={}",
            flow["id"].as_str().unwrap()
        )))
        .header("Accept", "application/json")
        .json(
            &json!({"method": "password", "identifier": email, "password": PASSWORD,
                      "csrf_token": csrf}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ory_kratos_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // Kratos answers `continue_with: [redirect_browser_to]` here, which the SDK cannot read.
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["continue_with"][0]["action"], "redirect_browser_to");
    let e = serde_json::from_value::<models::SuccessfulNativeLogin>(body).unwrap_err();
    assert!(e.to_string().contains("missing field `action`"), "{e}");
    cookie
}

both_backends!(sdk_cookie_sessions, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let link = create(&admin, "link@example.com", Some(PASSWORD)).await;
    let cookie = browser_session_cookie(&app, "link@example.com").await;
    let other_cookie = browser_session_cookie(&app, "link@example.com").await;
    let token = login_token(&app, &public, "link@example.com").await;
    let native_id = whoami(&public, &token).await.id;

    let me = ok(
        "toSession (cookie)",
        frontend_api::to_session(&public, None, Some(&cookie), None).await,
    );
    assert_eq!(me.identity.as_ref().unwrap().id, link.id);
    assert_eq!(me.active, Some(true));
    let other_id = ok(
        "toSession (cookie)",
        frontend_api::to_session(&public, None, Some(&other_cookie), None).await,
    )
    .id;
    let list = ok(
        "listMySessions (cookie)",
        frontend_api::list_my_sessions(&public, None, None, None, None, None, Some(&cookie)).await,
    );
    assert_eq!(
        sorted(list.iter().map(|s| s.id.clone()).collect()),
        sorted(vec![native_id.clone(), other_id.clone()])
    );
    // Cookie-authenticated revocations need no CSRF token.
    ok(
        "disableMySession (cookie)",
        frontend_api::disable_my_session(&public, &native_id, None, Some(&cookie)).await,
    );
    assert_dead(&public, &token).await;
    let count = ok(
        "disableMyOtherSessions (cookie)",
        frontend_api::disable_my_other_sessions(&public, None, Some(&cookie)).await,
    );
    assert_eq!(count.count, Some(1));
    let (status, _) = generic(
        "toSession (revoked cookie)",
        frontend_api::to_session(&public, None, Some(&other_cookie), None).await,
    );
    assert_eq!(status, 401);

    // Browser logout with the forwarded cookie: createBrowserLogoutFlow, then updateLogoutFlow
    // (303 to the return URL, so the client must not follow redirects off to that site).
    let flow = ok(
        "createBrowserLogoutFlow",
        frontend_api::create_browser_logout_flow(&public, Some(&cookie), None).await,
    );
    assert!(flow.logout_token.starts_with("ory_lo_"), "{flow:?}");
    assert!(
        flow.logout_url
            .starts_with(&app.public("/self-service/logout?"))
            && flow.logout_url.contains(&flow.logout_token),
        "{flow:?}"
    );
    let no_redirects = Configuration {
        base_path: app.public_url.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        ..Default::default()
    };
    ok(
        "updateLogoutFlow",
        frontend_api::update_logout_flow(
            &no_redirects,
            Some(&flow.logout_token),
            None,
            Some(&cookie),
        )
        .await,
    );
    let (status, _) = generic(
        "toSession (logged out)",
        frontend_api::to_session(&public, None, Some(&cookie), None).await,
    );
    assert_eq!(status, 401);
});
