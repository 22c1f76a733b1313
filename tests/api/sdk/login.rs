//! Native login and registration through the SDK.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Native login and registration.

both_backends!(sdk_native_login, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    let trinity = create(&admin, "trinity@example.com", Some(PASSWORD)).await;

    // The SDK cannot read a flow, from Kratos or from here (module docs).
    assert_node_type_failure(
        "createNativeLoginFlow",
        frontend_api::create_native_login_flow(
            &public, None, None, None, None, None, None, None, None,
        )
        .await,
    );
    let flow = native_flow(&app, "login").await;
    let flow_id = flow["id"].as_str().unwrap();
    assert_node_type_failure(
        "getLoginFlow",
        frontend_api::get_login_flow(&public, flow_id, None).await,
    );

    // Wrong password: 400 with the flow and message 4000006.
    let (status, body) = err(
        "updateLoginFlow (wrong password)",
        frontend_api::update_login_flow(
            &public,
            flow_id,
            password_login("trinity@example.com", "not the password at all"),
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_eq!(body["id"], flow_id);
    assert_eq!(body["ui"]["messages"][0]["id"], 4000006);

    // Success on the same flow; the identifier is case-insensitive.
    let res = ok(
        "updateLoginFlow",
        frontend_api::update_login_flow(
            &public,
            flow_id,
            password_login("TRINITY@example.com", PASSWORD),
            None,
            None,
        )
        .await,
    );
    let token = res.session_token.clone().expect("session_token");
    assert!(token.starts_with("ory_st_") && token.len() == 39, "{token}");
    assert!(res.continue_with.as_ref().is_none_or(|c| c.is_empty()));
    let s = &res.session;
    assert_eq!(s.active, Some(true));
    assert_eq!(s.authenticator_assurance_level, Some(Aal::Aal1));
    let m = &s.authentication_methods.as_ref().unwrap()[0];
    assert_eq!(
        m.method,
        Some(models::session_authentication_method::MethodEnum::Password)
    );
    assert_eq!(m.aal, Some(Aal::Aal1));
    assert!(m.completed_at.is_some());
    assert!(ts(&s.expires_at) > ts(&s.authenticated_at));
    assert_eq!(ts(&s.issued_at), ts(&s.authenticated_at));
    let identity = s.identity.as_ref().expect("identity");
    assert_eq!(identity.id, trinity.id);
    assert_eq!(
        identity.traits,
        Some(json!({"email": "trinity@example.com"}))
    );
    assert!(identity.credentials.is_none() && identity.metadata_admin.is_none());

    // toSession answers the same session.
    let me = whoami(&public, &token).await;
    assert_eq!(me.id, s.id);
    assert_eq!(me.identity.as_ref().unwrap().id, trinity.id);

    // Errors the SDK reads as its error envelope.
    let (status, e) = generic(
        "createNativeLoginFlow (already logged in)",
        frontend_api::create_native_login_flow(
            &public,
            None,
            None,
            Some(&token),
            None,
            None,
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_eq!(e.id.as_deref(), Some("session_already_available"));
    let (status, _) = err(
        "updateLoginFlow (unknown flow)",
        frontend_api::update_login_flow(
            &public,
            &uuid::Uuid::new_v4().to_string(),
            password_login("trinity@example.com", PASSWORD),
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 404);
    let (status, e) = generic(
        "createNativeLoginFlow (bad aal)",
        frontend_api::create_native_login_flow(
            &public,
            None,
            Some("aal9"),
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert!(format!("{e:?}").contains("aal9"), "{e:?}");
});

both_backends_with!(
    sdk_native_registration_without_session_hook,
    json!({"selfservice": {"flows": {"registration": {"after": {"password": {"hooks": []}}}}}}),
    |app: TestApp| async move {
        let (public, admin) = (public(&app), admin(&app));
        assert_node_type_failure(
            "createNativeRegistrationFlow",
            frontend_api::create_native_registration_flow(&public, None, None, None, None).await,
        );
        let flow = native_flow(&app, "registration").await;
        let flow_id = flow["id"].as_str().unwrap();
        assert_node_type_failure(
            "getRegistrationFlow",
            frontend_api::get_registration_flow(&public, flow_id, None).await,
        );

        // A policy violation: 400 with the flow.
        let (status, body) = err(
            "updateRegistrationFlow (short password)",
            frontend_api::update_registration_flow(
                &public,
                flow_id,
                password_registration("neo@example.com", "short"),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(body["id"], flow_id);

        // Without the session hook: the identity only, no session, no token, nothing to continue with.
        let res = ok(
            "updateRegistrationFlow",
            frontend_api::update_registration_flow(
                &public,
                flow_id,
                password_registration("Neo@Example.com", PASSWORD),
                None,
            )
            .await,
        );
        assert_eq!(
            res.identity.traits,
            Some(json!({"email": "Neo@Example.com"}))
        );
        assert!(res.identity.credentials.is_none());
        assert!(res.session.is_none() && res.session_token.is_none());
        assert!(res.continue_with.as_ref().is_none_or(|c| c.is_empty()));
        let neo = ok(
            "getIdentity",
            identity_api::get_identity(&admin, &res.identity.id, None).await,
        );
        assert_eq!(
            neo.credentials.unwrap()["password"].identifiers,
            Some(vec!["neo@example.com".to_string()])
        );

        // The identifier is taken now: 400 with the flow, message 4000007.
        let flow = native_flow(&app, "registration").await;
        let (status, body) = err(
            "updateRegistrationFlow (duplicate)",
            frontend_api::update_registration_flow(
                &public,
                flow["id"].as_str().unwrap(),
                password_registration("neo@example.com", PASSWORD),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        assert!(body.to_string().contains("4000007"), "{body}");

        // And the new identity logs in through the SDK.
        let token = login_token(&app, &public, "neo@example.com").await;
        assert_eq!(whoami(&public, &token).await.identity.unwrap().id, neo.id);
    }
);

both_backends!(
    sdk_native_registration_with_session_hook,
    |app: TestApp| async move {
        let (public, admin) = (public(&app), admin(&app));
        // With the `session` hook Kratos answers `continue_with: [set_ory_session_token]`, which
        // the SDK cannot read (module docs): the registration happens, the SDK reports a serde error.
        let flow = native_flow(&app, "registration").await;
        match frontend_api::update_registration_flow(
            &public,
            flow["id"].as_str().unwrap(),
            password_registration("tank@example.com", PASSWORD),
            None,
        )
        .await
        {
            Err(Error::Serde(e)) => {
                assert!(e.to_string().contains("missing field `action`"), "{e}")
            }
            other => panic!("expected the SDK's `action` failure, got {other:?}"),
        }
        let found = ok(
            "listIdentities (credentials_identifier)",
            identity_api::list_identities(
                &admin,
                None,
                None,
                None,
                None,
                None,
                None,
                Some("tank@example.com"),
                None,
                None,
                None,
            )
            .await,
        );
        assert_eq!(found.len(), 1);

        // The same operation over plain HTTP: Kratos's documented body; everything but
        // `continue_with` reads with the SDK's models, and the token works with the SDK.
        let flow = native_flow(&app, "registration").await;
        let res = reqwest::Client::new()
            .post(app.public(&format!(
                "/self-service/registration?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .json(
                &json!({"method": "password", "traits": {"email": "dozer@example.com"},
                          "password": PASSWORD}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let token = body["session_token"].as_str().unwrap().to_string();
        assert_eq!(
            body["continue_with"],
            json!([{"action": "set_ory_session_token", "ory_session_token": token}])
        );
        let identity: models::Identity = serde_json::from_value(body["identity"].clone())
            .expect("the SDK reads the registered identity");
        let session: models::Session =
            serde_json::from_value(body["session"].clone()).expect("the SDK reads the new session");
        assert_eq!(session.identity.as_ref().unwrap().id, identity.id);
        assert_eq!(session.active, Some(true));
        let me = whoami(&public, &token).await;
        assert_eq!(me.id, session.id);
        assert_eq!(me.identity.unwrap().id, identity.id);
    }
);
