//! Settings, recovery and verification as a browser (cookie jar, JSON answers) drives them through the SDK.

#[allow(unused_imports)]
use super::*;

both_backends_with_mail!(
    sdk_browser_settings,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let admin = admin(&app);
        let bella = create(&admin, "bella@example.com").await;
        let b = Browser::new(&app);

        // Without a session: 401 session_inactive through the SDK.
        let (status, e, _) = generic_body(
            "createBrowserSettingsFlow (no session)",
            frontend_api::create_browser_settings_flow(&b.sdk, None, None).await,
        );
        assert_eq!(status, 401);
        assert_eq!(e.id.as_deref(), Some("session_inactive"));

        browser_login(&app, &b, "bella@example.com").await;
        assert_sdk_cannot_read(
            "createBrowserSettingsFlow",
            frontend_api::create_browser_settings_flow(&b.sdk, None, None).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic_body(
            "createBrowserSettingsFlow (return_to not allowed)",
            frontend_api::create_browser_settings_flow(
                &b.sdk,
                Some("https://evil.example.com/"),
                None,
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(
            e.id.as_deref(),
            Some("self_service_flow_return_to_forbidden")
        );
        let (status, body) = send(b.http().get(app.public("/self-service/settings/browser"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::SettingsFlow = read_flow("createBrowserSettingsFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("browser", "show_form")
        );
        assert_eq!(flow.identity.id, bella.id);
        let token = csrf(&flow.ui);
        let id = flow.id.clone();

        // getSettingsFlow: with the jar's cookies, and with the cookies forwarded by a server-side
        // app through the SDK's `cookie` parameter.
        assert_sdk_cannot_read(
            "getSettingsFlow (browser)",
            frontend_api::get_settings_flow(&b.sdk, &id, None, None).await,
            NODE_TYPE,
        );
        let cookie = b.cookie_header(&app);
        assert!(cookie.contains("ory_kratos_session="), "{cookie}");
        assert_sdk_cannot_read(
            "getSettingsFlow (forwarded cookie)",
            frontend_api::get_settings_flow(&public(&app), &id, None, Some(&cookie)).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/settings/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got: models::SettingsFlow = read_flow("getSettingsFlow (browser)", &body);
        assert_eq!(got.id, id);

        // updateSettingsFlow needs the anti-CSRF token in the body.
        let (status, e, _) = generic_body(
            "updateSettingsFlow (no csrf_token)",
            frontend_api::update_settings_flow(
                &b.sdk,
                &id,
                profile(json!({"email": "bea@example.com"})),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));
        assert_sdk_cannot_read(
            "updateSettingsFlow (browser profile)",
            frontend_api::update_settings_flow(
                &b.sdk,
                &id,
                profile_csrf(json!({"email": "bea@example.com"}), &token),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        assert_eq!(
            get_identity(&admin, &bella.id).await.traits,
            Some(json!({"email": "bea@example.com"}))
        );
        assert_sdk_cannot_read(
            "updateSettingsFlow (browser password, forwarded cookie)",
            frontend_api::update_settings_flow(
                &public(&app),
                &id,
                password(NEW_PASSWORD, Some(&token)),
                None,
                Some(&cookie),
            )
            .await,
            NODE_TYPE,
        );
        login(&app, &public(&app), "bea@example.com", NEW_PASSWORD).await;
        // Over plain HTTP: 200 + the flow for a JSON browser request.
        let (status, body) = send(
            b.http()
                .post(app.public(&format!("/self-service/settings?flow={id}")))
                .json(
                    &json!({"method": "profile", "traits": {"email": "bella@example.com"},
                              "csrf_token": token}),
                ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: models::SettingsFlow = read_flow("updateSettingsFlow (browser, HTTP)", &body);
        assert_eq!(state(&saved.state), "success");
        assert_eq!(messages(&saved.ui), [1050001]);
        assert_eq!(
            saved.identity.traits,
            Some(json!({"email": "bella@example.com"}))
        );
    }
);

both_backends_with_mail!(
    sdk_browser_recovery,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let admin = admin(&app);
        let rex = create(&admin, "rex@example.com").await;
        let b = Browser::new(&app);

        assert_sdk_cannot_read(
            "createBrowserRecoveryFlow",
            frontend_api::create_browser_recovery_flow(&b.sdk, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(b.http().get(app.public("/self-service/recovery/browser"))).await;
        assert_eq!(status, 200, "{body}");
        let flow: models::RecoveryFlow = read_flow("createBrowserRecoveryFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("browser", "choose_method")
        );
        let token = csrf(&flow.ui);
        let id = flow.id.clone();

        // getRecoveryFlow: only the browser holding the anti-CSRF cookie may read it.
        assert_sdk_cannot_read(
            "getRecoveryFlow (browser)",
            frontend_api::get_recovery_flow(&b.sdk, &id, None).await,
            NODE_TYPE,
        );
        assert_sdk_cannot_read(
            "getRecoveryFlow (forwarded cookie)",
            frontend_api::get_recovery_flow(&public(&app), &id, Some(&b.cookie_header(&app))).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic_body(
            "getRecoveryFlow (no cookie)",
            frontend_api::get_recovery_flow(&public(&app), &id, None).await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));

        // updateRecoveryFlow: address, then the code from the email.
        let (status, e, _) = generic_body(
            "updateRecoveryFlow (no csrf_token)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &id,
                recovery_email("rex@example.com", None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));
        assert_sdk_cannot_read(
            "updateRecoveryFlow (browser email)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &id,
                recovery_email("rex@example.com", Some(&token)),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let code = nth_code(&mail, "rex@example.com", 1).await;
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let sent: models::RecoveryFlow = read_flow("getRecoveryFlow (browser, sent)", &body);
        assert_eq!(state(&sent.state), "sent_email");
        let token = csrf(&sent.ui);
        // Success for a JSON browser request is Kratos's 422 browser_location_change_required
        // towards the settings UI, with the session cookie: an error answer the SDK reads.
        let (status, e, raw) = generic_body(
            "updateRecoveryFlow (browser code)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &id,
                recovery_code(&code, Some(&token)),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 422);
        assert_eq!(e.id.as_deref(), Some("browser_location_change_required"));
        let to = raw["redirect_browser_to"].as_str().unwrap().to_string();
        assert!(
            to.starts_with("https://www.ory.sh/kratos/docs/fallback/settings?flow="),
            "{to}"
        );
        let settings_id = to.split("flow=").nth(1).unwrap().to_string();
        let me = ok(
            "toSession (browser)",
            frontend_api::to_session(&b.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.as_ref().unwrap().id, rex.id);
        assert_eq!(
            first_method(&me),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );

        // Continue in the settings flow.
        assert_sdk_cannot_read(
            "getSettingsFlow (browser, after recovery)",
            frontend_api::get_settings_flow(&b.sdk, &settings_id, None, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/settings/flows?id={settings_id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let settings: models::SettingsFlow = read_flow("getSettingsFlow (after recovery)", &body);
        assert_eq!(messages(&settings.ui), [1060001]);
        assert_sdk_cannot_read(
            "updateSettingsFlow (browser password after recovery)",
            frontend_api::update_settings_flow(
                &b.sdk,
                &settings_id,
                password(NEW_PASSWORD, Some(&csrf(&settings.ui))),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        login(&app, &public(&app), "rex@example.com", NEW_PASSWORD).await;

        // The same code submission over plain HTTP, on a second browser flow.
        let b2 = Browser::new(&app);
        let (_, flow) = send(b2.http().get(app.public("/self-service/recovery/browser"))).await;
        let flow: models::RecoveryFlow = read_flow("createBrowserRecoveryFlow (2)", &flow);
        let url = app.public(&format!("/self-service/recovery?flow={}", flow.id));
        let (status, body) = send(b2.http().post(&url).json(
            &json!({"method": "code", "email": "rex@example.com", "csrf_token": csrf(&flow.ui)}),
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        let sent: models::RecoveryFlow =
            read_flow("updateRecoveryFlow (browser email, HTTP)", &body);
        assert_eq!(messages(&sent.ui), [1060003]);
        let code = nth_code(&mail, "rex@example.com", 2).await;
        let res = b2
            .http()
            .post(&url)
            .json(&json!({"method": "code", "code": code, "csrf_token": csrf(&sent.ui)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ory_kratos_session=")));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["id"], "browser_location_change_required");
        assert!(body["redirect_browser_to"]
            .as_str()
            .unwrap()
            .contains("/settings?flow="));
        let me = ok(
            "toSession (browser 2)",
            frontend_api::to_session(&b2.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.unwrap().id, rex.id);
    }
);

both_backends_with_mail!(
    sdk_browser_verification,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let admin = admin(&app);
        let vic = create(&admin, "vic@example.com").await;
        let b = Browser::new(&app);

        assert_sdk_cannot_read(
            "createBrowserVerificationFlow",
            frontend_api::create_browser_verification_flow(&b.sdk, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            b.http()
                .get(app.public("/self-service/verification/browser")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow: models::VerificationFlow = read_flow("createBrowserVerificationFlow", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("browser", "choose_method")
        );
        let token = csrf(&flow.ui);
        let id = flow.id.clone();

        assert_sdk_cannot_read(
            "getVerificationFlow (browser)",
            frontend_api::get_verification_flow(&b.sdk, &id, None).await,
            NODE_TYPE,
        );
        let (status, e, _) = generic_body(
            "getVerificationFlow (no cookie)",
            frontend_api::get_verification_flow(&public(&app), &id, None).await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));

        let (status, e, _) = generic_body(
            "updateVerificationFlow (no csrf_token)",
            frontend_api::update_verification_flow(
                &b.sdk,
                &id,
                verification_email("vic@example.com", None),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 403);
        assert_eq!(e.id.as_deref(), Some("security_csrf_violation"));
        assert_sdk_cannot_read(
            "updateVerificationFlow (browser email)",
            frontend_api::update_verification_flow(
                &b.sdk,
                &id,
                verification_email("vic@example.com", Some(&token)),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let code = nth_code(&mail, "vic@example.com", 1).await;
        assert_sdk_cannot_read(
            "updateVerificationFlow (browser code)",
            frontend_api::update_verification_flow(
                &b.sdk,
                &id,
                verification_code(&code, Some(&token)),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let va = &get_identity(&admin, &vic.id)
            .await
            .verifiable_addresses
            .unwrap()[0];
        assert!(va.verified);
        let (status, body) = send(
            b.http()
                .get(app.public(&format!("/self-service/verification/flows?id={id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::VerificationFlow = read_flow("getVerificationFlow (browser)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        assert_eq!(messages(&passed.ui), [1080002]);
    }
);

// ---------------------------------------------------------------------------------------------
// Admin recovery: codes and links.
