//! Settings, recovery and verification as a native app drives them through the SDK.

#[allow(unused_imports)]
use super::*;

both_backends_with_mail!(
    sdk_settings_native,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let sandra = create(&admin, "sandra@example.com").await;
        let token = login(&app, &public, "sandra@example.com", PASSWORD).await;

        // createNativeSettingsFlow: a session is required; the error reads through the SDK.
        let (status, e, _) = generic_body(
            "createNativeSettingsFlow (no session)",
            frontend_api::create_native_settings_flow(&public, None).await,
        );
        assert_eq!(status, 401);
        assert_eq!(e.id.as_deref(), Some("session_inactive"));
        assert_sdk_cannot_read(
            "createNativeSettingsFlow",
            frontend_api::create_native_settings_flow(&public, Some(&token)).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public("/self-service/settings/api"))
                .header("X-Session-Token", &token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow: models::SettingsFlow = read_flow("createNativeSettingsFlow", &body);
        assert_eq!(flow.r#type, "api");
        assert_eq!(state(&flow.state), "show_form");
        assert_eq!(flow.identity.id, sandra.id);
        assert_eq!(
            flow.ui.action,
            app.public(&format!("/self-service/settings?flow={}", flow.id))
        );
        assert_eq!(
            value(input(&flow.ui, "traits.email")),
            json!("sandra@example.com")
        );
        assert_eq!(
            input(&flow.ui, "password").r#type,
            models::ui_node_input_attributes::TypeEnum::Password
        );
        assert!(!names(&flow.ui).contains(&"csrf_token".to_string()));
        let id = flow.id.clone();

        // getSettingsFlow.
        assert_sdk_cannot_read(
            "getSettingsFlow",
            frontend_api::get_settings_flow(&public, &id, Some(&token), None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/settings/flows?id={id}")))
                .header("X-Session-Token", &token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::SettingsFlow = read_flow("getSettingsFlow", &body);
        assert_eq!(
            (got.id.as_str(), state(&got.state)),
            (id.as_str(), "show_form")
        );
        let (status, e, _) = generic_body(
            "getSettingsFlow (no session)",
            frontend_api::get_settings_flow(&public, &id, None, None).await,
        );
        assert_eq!(status, 401);
        assert_eq!(e.id.as_deref(), Some("session_inactive"));
        create(&admin, "other@example.com").await;
        let other = login(&app, &public, "other@example.com", PASSWORD).await;
        let (status, e, _) = generic_body(
            "getSettingsFlow (another identity)",
            frontend_api::get_settings_flow(&public, &id, Some(&other), None).await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_identity_mismatch"));
        let (status, _, _) = generic_body(
            "getSettingsFlow (unknown)",
            frontend_api::get_settings_flow(&public, &uuid(), Some(&token), None).await,
        );
        assert_eq!(status, 404);

        // updateSettingsFlow, profile: an invalid trait is 400 + the flow, read through the SDK.
        let (status, body) = err(
            "updateSettingsFlow (invalid email)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                profile(json!({"email": "not an email"})),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let invalid: models::SettingsFlow = read_flow("updateSettingsFlow (invalid)", &body);
        assert_eq!(invalid.id, id);
        assert!(
            !node_messages(&invalid.ui, "traits.email").is_empty(),
            "{body}"
        );
        // Another identity's session cannot use the flow.
        let (status, e, _) = generic_body(
            "updateSettingsFlow (another identity)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                profile(json!({"email": "hijack@example.com"})),
                Some(&other),
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_identity_mismatch"));

        // Success: saved, though the SDK cannot read the answer.
        assert_sdk_cannot_read(
            "updateSettingsFlow (profile)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                profile(json!({"email": "sandy@example.com"})),
                Some(&token),
                None,
            )
            .await,
            NODE_TYPE,
        );
        let now = get_identity(&admin, &sandra.id).await;
        assert_eq!(now.traits, Some(json!({"email": "sandy@example.com"})));
        let va = &now.verifiable_addresses.as_ref().unwrap()[0];
        assert_eq!(
            (va.value.as_str(), va.verified),
            ("sandy@example.com", false)
        );
        let mails = mail.wait_for("sandy@example.com", 1).await;
        assert_eq!(mails[0].subject, "Please verify your email address");
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/settings/flows?id={id}")))
                .header("X-Session-Token", &token),
        )
        .await;
        let saved: models::SettingsFlow = read_flow("getSettingsFlow (saved)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            value(input(&saved.ui, "traits.email")),
            json!("sandy@example.com")
        );

        // The same operation over plain HTTP: 200 + the flow, `continue_with` pointing at the
        // verification flow for the new address.
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/settings?flow={id}")))
                .header("X-Session-Token", &token)
                .json(&json!({"method": "profile", "traits": {"email": "sandra@example.com"}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: models::SettingsFlow = read_flow("updateSettingsFlow (profile, HTTP)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            saved.identity.traits,
            Some(json!({"email": "sandra@example.com"}))
        );
        match saved.continue_with.as_deref() {
            Some([models::ContinueWith::ShowVerificationUi(v)]) => {
                assert_eq!(v.flow.verifiable_address, "sandra@example.com");
                let (status, _) = send(reqwest::Client::new().get(app.public(&format!(
                    "/self-service/verification/flows?id={}",
                    v.flow.id
                ))))
                .await;
                assert_eq!(status, 200, "the verification flow exists");
            }
            other => panic!("expected show_verification_ui, got {other:?}"),
        }
        mail.wait_for("sandra@example.com", 1).await;

        // updateSettingsFlow, password: the same password is 400 (4000039) through the SDK.
        let (status, body) = err(
            "updateSettingsFlow (same password)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                password(PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let same: models::SettingsFlow = read_flow("updateSettingsFlow (same password)", &body);
        assert_eq!(node_messages(&same.ui, "password"), [4000039]);
        assert_sdk_cannot_read(
            "updateSettingsFlow (password)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
            NODE_TYPE,
        );
        assert_eq!(
            try_login(&app, &public, "sandra@example.com", PASSWORD).await,
            Err(400)
        );
        login(&app, &public, "sandra@example.com", NEW_PASSWORD).await;
        // Over plain HTTP.
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/settings?flow={id}")))
                .header("X-Session-Token", &token)
                .json(&json!({"method": "password", "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: models::SettingsFlow = read_flow("updateSettingsFlow (password, HTTP)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            value(input(&saved.ui, "password")),
            Value::Null,
            "secrets cleared"
        );
        login(&app, &public, "sandra@example.com", PASSWORD).await;
        whoami(&public, &token).await;

        // Two hours later: the flow has expired (410, pointing at a new flow) and the session is no
        // longer privileged for a password change (403 session_refresh_required).
        app.registry.clock.advance(chrono::Duration::hours(2));
        let (status, e, raw) = generic_body(
            "updateSettingsFlow (expired)",
            frontend_api::update_settings_flow(
                &public,
                &id,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 410);
        assert_eq!(e.id.as_deref(), Some("self_service_flow_expired"));
        let fresh = raw["use_flow_id"]
            .as_str()
            .expect("use_flow_id")
            .to_string();
        let (status, e, raw) = generic_body(
            "updateSettingsFlow (not privileged)",
            frontend_api::update_settings_flow(
                &public,
                &fresh,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("session_refresh_required"));
        assert!(raw["redirect_browser_to"]
            .as_str()
            .unwrap()
            .starts_with(&app.public("/self-service/login/browser?refresh=true")));
    }
);

// ---------------------------------------------------------------------------------------------
// Recovery, native.

both_backends_with_mail!(
    sdk_recovery_native,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let rita = create(&admin, "rita@example.com").await;

        // createNativeRecoveryFlow.
        assert_sdk_cannot_read(
            "createNativeRecoveryFlow",
            frontend_api::create_native_recovery_flow(&public).await,
            NODE_TYPE,
        );
        let (status, body) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::RecoveryFlow = read_flow("createNativeRecoveryFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("api", "choose_method")
        );
        assert_eq!(
            flow.ui.action,
            app.public(&format!("/self-service/recovery?flow={}", flow.id))
        );
        assert_eq!(input(&flow.ui, "email").required, Some(true));
        assert_eq!(value(input(&flow.ui, "method")), json!("code"));
        assert!(flow.continue_with.as_ref().is_none_or(|c| c.is_empty()));
        let id = flow.id.clone();

        // getRecoveryFlow.
        assert_sdk_cannot_read(
            "getRecoveryFlow",
            frontend_api::get_recovery_flow(&public, &id, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::RecoveryFlow = read_flow("getRecoveryFlow", &body);
        assert_eq!(
            (got.id.as_str(), state(&got.state)),
            (id.as_str(), "choose_method")
        );
        let (status, _, _) = generic_body(
            "getRecoveryFlow (unknown)",
            frontend_api::get_recovery_flow(&public, &uuid(), None).await,
        );
        assert_eq!(status, 404);

        // updateRecoveryFlow with the address: the code is mailed.
        let (status, body) = err(
            "updateRecoveryFlow (invalid email)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_email("not-an-address", None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let invalid: models::RecoveryFlow = read_flow("updateRecoveryFlow (invalid)", &body);
        assert_eq!(node_messages(&invalid.ui, "email"), [4000040]);
        assert_sdk_cannot_read(
            "updateRecoveryFlow (email)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_email("RITA@example.com", None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let mails = mail.wait_for("rita@example.com", 1).await;
        assert_eq!(mails[0].subject, "Recover access to your account");
        let code = six_digits(&mails[0].body);
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        let sent: models::RecoveryFlow = read_flow("getRecoveryFlow (sent)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        assert_eq!(messages(&sent.ui), [1060003]);
        assert_eq!(input(&sent.ui, "code").maxlength, Some(6));
        // The same step over HTTP, for an unknown address: the same answer, and no mail.
        let (_, other) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!(
                    "/self-service/recovery?flow={}",
                    other["id"].as_str().unwrap()
                )))
                .json(&json!({"method": "code", "email": "nobody@example.com"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let unknown: models::RecoveryFlow = read_flow("updateRecoveryFlow (email, HTTP)", &body);
        assert_eq!(state(&unknown.state), "sent_email");
        assert_eq!(messages(&unknown.ui), [1060003]);
        let queued = ok(
            "listCourierMessages (recipient)",
            courier_api::list_courier_messages(
                &admin,
                None,
                None,
                None,
                Some("nobody@example.com"),
            )
            .await,
        );
        assert!(queued.is_empty(), "{queued:?}");

        // A wrong code: 200 + the flow with 4060006 (the form again, as Kratos answers), which
        // the SDK cannot read; the flow is read over HTTP.
        assert_sdk_cannot_read(
            "updateRecoveryFlow (wrong code)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_code(wrong(&code), None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let bad: models::RecoveryFlow = read_flow("updateRecoveryFlow (wrong code)", &body);
        assert_eq!(messages(&bad.ui), [4060006]);

        // The right code: recovered, but the SDK cannot read the answer (no nodes are left; the
        // `continue_with` items fail) — so it never sees the session token.
        assert_sdk_cannot_read(
            "updateRecoveryFlow (code)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_code(&code, None),
                None,
                None,
            )
            .await,
            ACTION,
        );
        let sessions = ok(
            "listIdentitySessions",
            identity_api::list_identity_sessions(&admin, &rita.id, None, None, None, None, None)
                .await,
        );
        assert_eq!(sessions.len(), 1, "the recovery issued a session");
        assert_eq!(
            first_method(&sessions[0]),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        let passed: models::RecoveryFlow = read_flow("getRecoveryFlow (passed)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        // The code cannot be used twice: 400 + the flow with 4060001.
        let (status, body) = err(
            "updateRecoveryFlow (again)",
            frontend_api::update_recovery_flow(
                &public,
                &id,
                recovery_code(&code, None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let again: models::RecoveryFlow = read_flow("updateRecoveryFlow (again)", &body);
        assert_eq!(messages(&again.ui), [4060001]);

        // The whole recovery over plain HTTP, to see the answer the SDK cannot read.
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        let url = app.public(&format!(
            "/self-service/recovery?flow={}",
            flow["id"].as_str().unwrap()
        ));
        let (status, _) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "email": "rita@example.com"})),
        )
        .await;
        assert_eq!(status, 200);
        let code = nth_code(&mail, "rita@example.com", 2).await;
        let (status, body) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "code": code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::RecoveryFlow = read_flow("updateRecoveryFlow (code, HTTP)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert!(passed.ui.nodes.is_empty());
        let (token, settings_id) = match passed.continue_with.as_deref() {
            Some(
                [models::ContinueWith::SetOrySessionToken(t), models::ContinueWith::ShowSettingsUi(s)],
            ) => (t.ory_session_token.clone(), s.flow.id.clone()),
            other => panic!("expected set_ory_session_token + show_settings_ui, got {other:?}"),
        };
        let me = whoami(&public, &token).await;
        assert_eq!(me.identity.as_ref().unwrap().id, rita.id);
        assert_eq!(
            first_method(&me),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );

        // Continue in the settings flow with the SDK: a new password.
        assert_sdk_cannot_read(
            "getSettingsFlow (after recovery)",
            frontend_api::get_settings_flow(&public, &settings_id, Some(&token), None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/settings/flows?id={settings_id}")))
                .header("X-Session-Token", &token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let settings: models::SettingsFlow = read_flow("getSettingsFlow (after recovery)", &body);
        assert_eq!(settings.identity.id, rita.id);
        assert_eq!(messages(&settings.ui), [1060001]);
        assert_sdk_cannot_read(
            "updateSettingsFlow (password after recovery)",
            frontend_api::update_settings_flow(
                &public,
                &settings_id,
                password(NEW_PASSWORD, None),
                Some(&token),
                None,
            )
            .await,
            NODE_TYPE,
        );
        login(&app, &public, "rita@example.com", NEW_PASSWORD).await;
    }
);

// ---------------------------------------------------------------------------------------------
// Verification, native.

both_backends_with_mail!(
    sdk_verification_native,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let vera = create(&admin, "vera@example.com").await;
        let va = &vera.verifiable_addresses.as_ref().unwrap()[0];
        assert_eq!((va.status.as_str(), va.verified), ("pending", false));

        // createNativeVerificationFlow.
        assert_sdk_cannot_read(
            "createNativeVerificationFlow",
            frontend_api::create_native_verification_flow(&public, None).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic_body(
            "createNativeVerificationFlow (return_to not allowed)",
            frontend_api::create_native_verification_flow(
                &public,
                Some("https://evil.example.com/"),
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(
            e.id.as_deref(),
            Some("self_service_flow_return_to_forbidden")
        );
        let (status, body) =
            send(reqwest::Client::new().get(app.public("/self-service/verification/api"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::VerificationFlow = read_flow("createNativeVerificationFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("api", "choose_method")
        );
        assert_eq!(
            flow.ui.action,
            app.public(&format!("/self-service/verification?flow={}", flow.id))
        );
        assert_eq!(input(&flow.ui, "email").required, Some(true));
        let id = flow.id.clone();

        // getVerificationFlow.
        assert_sdk_cannot_read(
            "getVerificationFlow",
            frontend_api::get_verification_flow(&public, &id, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::VerificationFlow = read_flow("getVerificationFlow", &body);
        assert_eq!(got.id, id);
        let (status, _, _) = generic_body(
            "getVerificationFlow (unknown)",
            frontend_api::get_verification_flow(&public, &uuid(), None).await,
        );
        assert_eq!(status, 404);

        // updateVerificationFlow with the address.
        assert_sdk_cannot_read(
            "updateVerificationFlow (email)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_email("vera@example.com", None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let mails = mail.wait_for("vera@example.com", 1).await;
        assert_eq!(mails[0].subject, "Please verify your email address");
        let code = six_digits(&mails[0].body);
        let va = &get_identity(&admin, &vera.id)
            .await
            .verifiable_addresses
            .unwrap()[0];
        assert_eq!((va.status.as_str(), va.verified), ("sent", false));
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        let sent: models::VerificationFlow = read_flow("getVerificationFlow (sent)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        assert_eq!(messages(&sent.ui), [1080003]);

        // A wrong code: 200 + the flow with 4070006 (the form again), which the SDK cannot read.
        assert_sdk_cannot_read(
            "updateVerificationFlow (wrong code)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_code(wrong(&code), None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let bad: models::VerificationFlow = read_flow("updateVerificationFlow (wrong)", &body);
        assert_eq!(messages(&bad.ui), [4070006]);

        // The right code: verified.
        assert_sdk_cannot_read(
            "updateVerificationFlow (code)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_code(&code, None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let va = &get_identity(&admin, &vera.id)
            .await
            .verifiable_addresses
            .unwrap()[0];
        assert_eq!((va.status.as_str(), va.verified), ("completed", true));
        assert!(va.verified_at.is_some());
        let (_, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        let passed: models::VerificationFlow = read_flow("getVerificationFlow (passed)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert_eq!(messages(&passed.ui), [1080002]);
        let (status, body) = err(
            "updateVerificationFlow (again)",
            frontend_api::update_verification_flow(
                &public,
                &id,
                verification_code(&code, None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        let again: models::VerificationFlow = read_flow("updateVerificationFlow (again)", &body);
        assert_eq!(messages(&again.ui), [4070002]);

        // The same two steps over plain HTTP, for a second identity.
        let walt = create(&admin, "walt@example.com").await;
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/verification/api"))).await;
        let url = app.public(&format!(
            "/self-service/verification?flow={}",
            flow["id"].as_str().unwrap()
        ));
        let (status, body) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "email": "walt@example.com"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let sent: models::VerificationFlow =
            read_flow("updateVerificationFlow (email, HTTP)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        assert_eq!(messages(&sent.ui), [1080003]);
        let code = nth_code(&mail, "walt@example.com", 1).await;
        let (status, body) = send(
            reqwest::Client::new()
                .post(&url)
                .json(&json!({"method": "code", "code": code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::VerificationFlow =
            read_flow("updateVerificationFlow (code, HTTP)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert_eq!(messages(&passed.ui), [1080002]);
        assert!(
            get_identity(&admin, &walt.id)
                .await
                .verifiable_addresses
                .unwrap()[0]
                .verified
        );
    }
);

// ---------------------------------------------------------------------------------------------
// Browser flows (SPA style: cookies in the client's jar, `Accept: application/json`).
