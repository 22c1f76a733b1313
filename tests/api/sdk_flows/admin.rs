//! The admin recovery code and link, the courier messages, and reads of flows that must stay private.

#[allow(unused_imports)]
use super::*;

both_backends_with_mail!(
    sdk_admin_recovery_code,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let ada = create(&admin, "ada@example.com").await;
        let code_for = |flow_type: Option<&str>, expires_in: Option<&str>| {
            let mut b = models::CreateRecoveryCodeForIdentityBody::new(ada.id.clone());
            b.flow_type = flow_type.map(str::to_string);
            b.expires_in = expires_in.map(str::to_string);
            let admin = admin.clone();
            async move { identity_api::create_recovery_code_for_identity(&admin, Some(b)).await }
        };

        // An API flow: the code recovers the account, and the session token works.
        let before = chrono::Utc::now();
        let rc = ok(
            "createRecoveryCodeForIdentity (api)",
            code_for(Some("api"), Some("10m")).await,
        );
        assert!(
            rc.recovery_code.len() == 6 && rc.recovery_code.chars().all(|c| c.is_ascii_digit()),
            "{rc:?}"
        );
        assert!(
            rc.recovery_link
                .starts_with("https://www.ory.sh/kratos/docs/fallback/recovery?flow="),
            "{rc:?}"
        );
        let expires = chrono::DateTime::parse_from_rfc3339(rc.expires_at.as_deref().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let lifespan = expires - before;
        assert!(
            lifespan > chrono::Duration::minutes(9) && lifespan <= chrono::Duration::minutes(11),
            "{rc:?}"
        );
        let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
        assert_sdk_cannot_read(
            "getRecoveryFlow (admin code)",
            frontend_api::get_recovery_flow(&public, &flow_id, None).await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={flow_id}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let flow: models::RecoveryFlow = read_flow("getRecoveryFlow (admin code)", &body);
        assert_eq!(
            (flow.r#type.as_str(), state(&flow.state)),
            ("api", "sent_email")
        );
        assert_eq!(
            input(&flow.ui, "code").r#type,
            models::ui_node_input_attributes::TypeEnum::Text
        );
        assert_sdk_cannot_read(
            "updateRecoveryFlow (admin code, wrong)",
            frontend_api::update_recovery_flow(
                &public,
                &flow_id,
                recovery_code(wrong(&rc.recovery_code), None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let (status, body) = send(
            reqwest::Client::new()
                .get(app.public(&format!("/self-service/recovery/flows?id={flow_id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let bad: models::RecoveryFlow = read_flow("updateRecoveryFlow (admin code, wrong)", &body);
        assert_eq!(messages(&bad.ui), [4060006]);
        // Through the SDK the recovery happens but its answer (token included) cannot be read.
        assert_sdk_cannot_read(
            "updateRecoveryFlow (admin code)",
            frontend_api::update_recovery_flow(
                &public,
                &flow_id,
                recovery_code(&rc.recovery_code, None),
                None,
                None,
            )
            .await,
            ACTION,
        );
        assert_eq!(
            ok(
                "listIdentitySessions",
                identity_api::list_identity_sessions(&admin, &ada.id, None, None, None, None, None)
                    .await
            )
            .len(),
            1
        );
        // A second code, submitted over plain HTTP: the token from `continue_with` works.
        let rc = ok(
            "createRecoveryCodeForIdentity (api, 2)",
            code_for(Some("api"), None).await,
        );
        let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/recovery?flow={flow_id}")))
                .json(&json!({"method": "code", "code": rc.recovery_code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let passed: models::RecoveryFlow =
            read_flow("updateRecoveryFlow (admin code, HTTP)", &body);
        assert_eq!(state(&passed.state), "passed_challenge");
        let token = passed
            .continue_with
            .iter()
            .flatten()
            .find_map(|c| match c {
                models::ContinueWith::SetOrySessionToken(t) => Some(t.ory_session_token.clone()),
                _ => None,
            })
            .expect("set_ory_session_token");
        let me = whoami(&public, &token).await;
        assert_eq!(me.identity.as_ref().unwrap().id, ada.id);
        assert_eq!(
            first_method(&me),
            models::session_authentication_method::MethodEnum::CodeRecovery
        );
        // The code is spent.
        let (status, body) = send(
            reqwest::Client::new()
                .post(app.public(&format!("/self-service/recovery?flow={flow_id}")))
                .json(&json!({"method": "code", "code": rc.recovery_code})),
        )
        .await;
        assert_eq!(status, 400, "{body}");

        // The default flow type is browser: the link is the recovery UI, and a browser submits the
        // code with any anti-CSRF cookie and its token (here: from a fresh browser recovery flow).
        let rc = ok(
            "createRecoveryCodeForIdentity (browser)",
            code_for(None, None).await,
        );
        let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
        let b = Browser::new(&app);
        let (_, own) = send(b.http().get(app.public("/self-service/recovery/browser"))).await;
        let own: models::RecoveryFlow = read_flow("createBrowserRecoveryFlow", &own);
        let (status, e, raw) = generic_body(
            "updateRecoveryFlow (admin code, browser)",
            frontend_api::update_recovery_flow(
                &b.sdk,
                &flow_id,
                recovery_code(&rc.recovery_code, Some(&csrf(&own.ui))),
                None,
                None,
            )
            .await,
        );
        assert_eq!(status, 422, "{raw}");
        assert_eq!(e.id.as_deref(), Some("browser_location_change_required"));
        let me = ok(
            "toSession (browser)",
            frontend_api::to_session(&b.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.unwrap().id, ada.id);

        // Errors, through the SDK.
        let (status, _, _) = generic_body(
            "createRecoveryCodeForIdentity (unknown identity)",
            identity_api::create_recovery_code_for_identity(
                &admin,
                Some(models::CreateRecoveryCodeForIdentityBody::new(uuid())),
            )
            .await,
        );
        assert_eq!(status, 404);
        let (status, _, _) = generic_body(
            "createRecoveryCodeForIdentity (bad identity id)",
            identity_api::create_recovery_code_for_identity(
                &admin,
                Some(models::CreateRecoveryCodeForIdentityBody::new(
                    "nope".into(),
                )),
            )
            .await,
        );
        assert_eq!(status, 400);
        let (status, _, _) = generic_body(
            "createRecoveryCodeForIdentity (bad expires_in)",
            code_for(None, Some("soon")).await,
        );
        assert_eq!(status, 400);
        let (status, _, _) = generic_body(
            "createRecoveryCodeForIdentity (bad flow_type)",
            code_for(Some("bogus"), None).await,
        );
        assert_eq!(status, 400);
    }
);

both_backends_with_mail!(
    sdk_admin_recovery_link,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let admin = admin(&app);
        let lin = create(&admin, "lin@example.com").await;
        let link_for = |return_to: Option<&'static str>, expires_in: Option<&str>| {
            let mut b = models::CreateRecoveryLinkForIdentityBody::new(lin.id.clone());
            b.expires_in = expires_in.map(str::to_string);
            let admin = admin.clone();
            async move {
                identity_api::create_recovery_link_for_identity(&admin, return_to, Some(b)).await
            }
        };

        let before = chrono::Utc::now();
        let rl = ok(
            "createRecoveryLinkForIdentity",
            link_for(None, Some("10m")).await,
        );
        let prefix = app.public("/self-service/recovery?flow=");
        assert!(rl.recovery_link.starts_with(&prefix), "{rl:?}");
        assert!(rl.recovery_link.contains("&token="), "{rl:?}");
        let expires = chrono::DateTime::parse_from_rfc3339(rl.expires_at.as_deref().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let lifespan = expires - before;
        assert!(
            lifespan > chrono::Duration::minutes(9) && lifespan <= chrono::Duration::minutes(11),
            "{rl:?}"
        );

        // A cookie-keeping browser opens the link: logged in, sent to the settings UI.
        let browser = crate::helpers::new_client();
        let res = browser.get(&rl.recovery_link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with("https://www.ory.sh/kratos/docs/fallback/settings?flow="),
            "{location}"
        );
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ory_kratos_session=")));
        let (status, session) = send(browser.get(app.public("/sessions/whoami"))).await;
        assert_eq!(status, 200);
        let session: models::Session = model("toSession (cookie)", &session);
        assert_eq!(session.identity.as_ref().unwrap().id, lin.id);
        assert_eq!(
            first_method(&session),
            models::session_authentication_method::MethodEnum::LinkRecovery
        );
        // The link works once: the second browser is sent back to the recovery UI.
        let res = crate::helpers::new_client()
            .get(&rl.recovery_link)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://www.ory.sh/kratos/docs/fallback/recovery?flow="));

        // The same link through the SDK browser configuration: the session is read with the SDK.
        let rl = ok(
            "createRecoveryLinkForIdentity (return_to)",
            link_for(Some("https://allowed.example.com/welcome"), None).await,
        );
        let b = Browser::new(&app);
        let res = b.http().get(&rl.recovery_link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let me = ok(
            "toSession (recovered browser)",
            frontend_api::to_session(&b.sdk, None, None, None).await,
        );
        assert_eq!(me.identity.unwrap().id, lin.id);

        // Errors, through the SDK.
        let (status, e, _) = generic_body(
            "createRecoveryLinkForIdentity (unknown identity)",
            identity_api::create_recovery_link_for_identity(
                &admin,
                None,
                Some(models::CreateRecoveryLinkForIdentityBody::new(uuid())),
            )
            .await,
        );
        assert_eq!(status, 400);
        assert_eq!(
            e.reason.as_deref(),
            Some("The requested identity id does not exist.")
        );
        let (status, _, _) = generic_body(
            "createRecoveryLinkForIdentity (bad expires_in)",
            link_for(None, Some("-1h")).await,
        );
        assert_eq!(status, 400);
        let (status, _, _) = generic_body(
            "createRecoveryLinkForIdentity (return_to not allowed)",
            link_for(Some("https://evil.example.com/"), None).await,
        );
        assert_eq!(status, 400);
    }
);

// ---------------------------------------------------------------------------------------------
// Courier messages.

both_backends_with_mail!(
    sdk_courier_messages,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let (public, admin) = (public(&app), admin(&app));
        let people = ["ann@example.com", "ben@example.com", "cat@example.com"];
        for p in people {
            create(&admin, p).await;
        }
        // One verification mail each (ann, ben, cat), then a recovery mail for ann, a second
        // apart so that the newest-first order is known.
        for p in people {
            let (_, flow) =
                send(reqwest::Client::new().get(app.public("/self-service/verification/api")))
                    .await;
            assert_sdk_cannot_read(
                "updateVerificationFlow (email)",
                frontend_api::update_verification_flow(
                    &public,
                    flow["id"].as_str().unwrap(),
                    verification_email(p, None),
                    None,
                    None,
                )
                .await,
                NODE_TYPE,
            );
            app.registry.clock.advance(chrono::Duration::seconds(1));
        }
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
        assert_sdk_cannot_read(
            "updateRecoveryFlow (email)",
            frontend_api::update_recovery_flow(
                &public,
                flow["id"].as_str().unwrap(),
                recovery_email("ann@example.com", None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        let ann_mails = mail.wait_for("ann@example.com", 2).await;
        mail.wait_for("ben@example.com", 1).await;
        mail.wait_for("cat@example.com", 1).await;

        // listCourierMessages: everything, newest first, "sent" once delivered.
        let mut all = Vec::new();
        for _ in 0..200 {
            all = ok(
                "listCourierMessages",
                courier_api::list_courier_messages(&admin, None, None, None, None).await,
            );
            if all.len() == 4 && all.iter().all(|m| m.status == Status::Sent) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            all.iter().map(|m| m.recipient.as_str()).collect::<Vec<_>>(),
            [
                "ann@example.com",
                "cat@example.com",
                "ben@example.com",
                "ann@example.com"
            ]
        );
        use models::message::TemplateTypeEnum as T;
        assert_eq!(
            all.iter().map(|m| m.template_type).collect::<Vec<_>>(),
            [
                T::RecoveryCodeValid,
                T::VerificationCodeValid,
                T::VerificationCodeValid,
                T::VerificationCodeValid
            ]
        );
        for m in &all {
            assert_eq!(m.status, Status::Sent, "{m:?}");
            assert_eq!(m.r#type, models::CourierMessageType::Email);
            assert_eq!(m.send_count, 1, "{m:?}");
            assert!(m.dispatches.is_none(), "the list has no dispatches");
            chrono::DateTime::parse_from_rfc3339(&m.created_at).unwrap();
            chrono::DateTime::parse_from_rfc3339(&m.updated_at).unwrap();
        }
        // Subjects are shown in dev mode; the bodies of sent messages are redacted in the database
        // (see DIFFERENCES.md), so the codes that were delivered are nowhere in them.
        assert_eq!(all[0].subject, "Recover access to your account");
        for m in &all {
            assert_eq!(
                m.body,
                ostiary::persistence::courier::REDACTED_BODY,
                "{m:?}"
            );
        }
        for delivered in &ann_mails {
            let code = six_digits(&delivered.body);
            assert!(all.iter().all(|m| !m.body.contains(&code)));
        }

        // Filters.
        let anns = ok(
            "listCourierMessages (recipient)",
            courier_api::list_courier_messages(&admin, None, None, None, Some("ann@example.com"))
                .await,
        );
        assert_eq!(
            anns.iter().map(|m| &m.id).collect::<Vec<_>>(),
            [&all[0].id, &all[3].id]
        );
        let sent = ok(
            "listCourierMessages (status=sent)",
            courier_api::list_courier_messages(&admin, None, None, Some(Status::Sent), None).await,
        );
        assert_eq!(sent, all);
        for s in [Status::Queued, Status::Processing, Status::Abandoned] {
            let none = ok(
                "listCourierMessages (status)",
                courier_api::list_courier_messages(&admin, None, None, Some(s), None).await,
            );
            assert!(none.is_empty(), "{s}: {none:?}");
        }
        let both = ok(
            "listCourierMessages (status and recipient)",
            courier_api::list_courier_messages(
                &admin,
                None,
                None,
                Some(Status::Sent),
                Some("ben@example.com"),
            )
            .await,
        );
        assert_eq!(both.iter().map(|m| &m.id).collect::<Vec<_>>(), [&all[2].id]);
        let nobody = ok(
            "listCourierMessages (unknown recipient)",
            courier_api::list_courier_messages(&admin, None, None, None, Some("zed@example.com"))
                .await,
        );
        assert!(nobody.is_empty());

        // Pagination: page_size through the SDK, page_token from the `Link` header (HTTP).
        let page = ok(
            "listCourierMessages (page_size)",
            courier_api::list_courier_messages(&admin, Some(3), None, None, None).await,
        );
        assert_eq!(page, all[..3]);
        let res = reqwest::get(app.admin("/admin/courier/messages?page_size=3"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let link = res.headers()["link"].to_str().unwrap().to_string();
        let next = link
            .split(',')
            .find(|p| p.contains("rel=\"next\""))
            .expect("a next page");
        let target = next
            .trim()
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap();
        let token = url::Url::parse(target)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "page_token")
            .map(|(_, v)| v.into_owned())
            .expect("page_token");
        let page2 = ok(
            "listCourierMessages (page_token)",
            courier_api::list_courier_messages(&admin, Some(3), Some(&token), None, None).await,
        );
        assert_eq!(page2, all[3..]);
        let res = reqwest::get(app.admin(&format!(
            "/admin/courier/messages?page_size=3&page_token={}",
            urlencoding(&token)
        )))
        .await
        .unwrap();
        assert!(
            !res.headers()["link"]
                .to_str()
                .unwrap()
                .contains("rel=\"next\""),
            "the last page has no next"
        );
        let (status, _, _) = generic_body(
            "listCourierMessages (bad page_token)",
            courier_api::list_courier_messages(&admin, None, Some("not-a-token"), None, None).await,
        );
        assert_eq!(status, 400);

        // A status the SDK cannot express: 400 over plain HTTP, in the SDK's error shape.
        let (status, body) =
            send(reqwest::Client::new().get(app.admin("/admin/courier/messages?status=bogus")))
                .await;
        assert_eq!(status, 400);
        let e: models::ErrorGeneric = model("listCourierMessages (bad status)", &body);
        assert_eq!(e.error.code, Some(400));

        // getCourierMessage: the message with its dispatches.
        for m in &all {
            let one = ok(
                "getCourierMessage",
                courier_api::get_courier_message(&admin, &m.id).await,
            );
            let dispatches = one.dispatches.clone().expect("dispatches");
            assert_eq!(dispatches.len(), 1, "{one:?}");
            assert_eq!(
                dispatches[0].status,
                models::message_dispatch::StatusEnum::Success
            );
            assert_eq!(dispatches[0].message_id, m.id);
            assert!(dispatches[0].error.is_none());
            chrono::DateTime::parse_from_rfc3339(&dispatches[0].created_at).unwrap();
            let without = models::Message {
                dispatches: None,
                ..one
            };
            assert_eq!(&without, m);
        }
        let (status, _, _) = generic_body(
            "getCourierMessage (unknown)",
            courier_api::get_courier_message(&admin, &uuid()).await,
        );
        assert_eq!(status, 404);
        let (status, _, _) = generic_body(
            "getCourierMessage (bad id)",
            courier_api::get_courier_message(&admin, "nope").await,
        );
        assert_eq!(status, 400);
    }
);

/// Percent-encode a query value (page tokens are opaque).
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Kratos behaviours an SDK user can observe, each once missed here and kept as a regression test.

async fn sqlite_app() -> (TestApp, MailServer) {
    crate::helpers::spawn_app_with_mail(crate::helpers::Backend::Sqlite, json!({})).await
}

/// Kratos keeps `continue_with` out of the stored flow (`ContinueWithItems … db:"-"` in
/// `selfservice/flow/{registration,settings}/flow.go`; the recovery flow table has no such column):
/// the items appear only in the answer to the request that produced them, so
/// `GET /self-service/recovery/flows?id=<api flow>` — public, no credentials — must never hand out
/// the `ory_session_token` the recovery issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_recovery_flow_never_shows_the_session_token() {
    let (app, mail) = sqlite_app().await;
    let (public, admin) = (public(&app), admin(&app));
    create(&admin, "leak@example.com").await;
    let (_, flow) =
        send(reqwest::Client::new().get(app.public("/self-service/recovery/api"))).await;
    let id = flow["id"].as_str().unwrap().to_string();
    let url = app.public(&format!("/self-service/recovery?flow={id}"));
    send(
        reqwest::Client::new()
            .post(&url)
            .json(&json!({"method": "code", "email": "leak@example.com"})),
    )
    .await;
    let code = nth_code(&mail, "leak@example.com", 1).await;
    let (status, body) = send(
        reqwest::Client::new()
            .post(&url)
            .json(&json!({"method": "code", "code": code})),
    )
    .await;
    assert_eq!(status, 200);
    let token = body["continue_with"][0]["ory_session_token"]
        .as_str()
        .unwrap()
        .to_string();
    whoami(&public, &token).await;
    // A stranger reads the flow.
    let (status, body) = send(
        reqwest::Client::new().get(app.public(&format!("/self-service/recovery/flows?id={id}"))),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !body.to_string().contains(&token),
        "getRecoveryFlow hands out the session token: {body}"
    );
    assert!(
        body["continue_with"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{body}"
    );
}

/// Kratos creates the browser flow of `createRecoveryCodeForIdentity` with
/// `DangerousSkipCSRFCheck = true` (`selfservice/strategy/code/strategy_recovery_admin.go`), and
/// `getRecoveryFlow` skips the anti-CSRF check for such flows
/// (`selfservice/flow/recovery/handler.go`): whichever browser opens the recovery link can load the
/// flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_recovery_code_browser_flow_is_readable() {
    let (app, _mail) = sqlite_app().await;
    let admin = admin(&app);
    let ada = create(&admin, "ada@example.com").await;
    let rc = ok(
        "createRecoveryCodeForIdentity (browser)",
        identity_api::create_recovery_code_for_identity(
            &admin,
            Some(models::CreateRecoveryCodeForIdentityBody::new(
                ada.id.clone(),
            )),
        )
        .await,
    );
    let flow_id = rc.recovery_link.split("flow=").nth(1).unwrap().to_string();
    let b = Browser::new(&app);
    let (status, body) = send(
        b.http()
            .get(app.public(&format!("/self-service/recovery/flows?id={flow_id}"))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let flow: models::RecoveryFlow = read_flow("getRecoveryFlow (admin code, browser)", &body);
    assert_eq!(
        (flow.r#type.as_str(), state(&flow.state)),
        ("browser", "sent_email")
    );
}

/// Kratos's `getSettingsFlow` checks the session and the flow's identity only — no anti-CSRF check
/// (`selfservice/flow/settings/handler.go`): a server-side app forwarding just the session cookie
/// reads the browser flow (200), and without any cookie the answer is 401 `session_inactive`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_settings_flow_checks_the_session_not_csrf() {
    let (app, _mail) = sqlite_app().await;
    let admin = admin(&app);
    create(&admin, "sid@example.com").await;
    let b = Browser::new(&app);
    browser_login(&app, &b, "sid@example.com").await;
    let (_, flow) = send(b.http().get(app.public("/self-service/settings/browser"))).await;
    let id = flow["id"].as_str().unwrap().to_string();
    let session_cookie = b
        .cookie_header(&app)
        .split("; ")
        .find(|c| c.starts_with("ory_kratos_session="))
        .unwrap()
        .to_string();
    let (status, e, _) = generic_body(
        "getSettingsFlow (no cookies)",
        frontend_api::get_settings_flow(&public(&app), &id, None, None).await,
    );
    assert_eq!(status, 401);
    assert_eq!(e.id.as_deref(), Some("session_inactive"));
    assert_sdk_cannot_read(
        "getSettingsFlow (session cookie only)",
        frontend_api::get_settings_flow(&public(&app), &id, None, Some(&session_cookie)).await,
        NODE_TYPE,
    );
}

/// Kratos's keyset paginator (`ory/x` `keysetpagination.Paginator.Size`) treats `page_size <= 0` as
/// the default size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courier_page_size_zero_means_the_default() {
    let (app, mail) = sqlite_app().await;
    let (public, admin) = (public(&app), admin(&app));
    for p in ["zoe@example.com", "zack@example.com"] {
        create(&admin, p).await;
        let (_, flow) =
            send(reqwest::Client::new().get(app.public("/self-service/verification/api"))).await;
        assert_sdk_cannot_read(
            "updateVerificationFlow (email)",
            frontend_api::update_verification_flow(
                &public,
                flow["id"].as_str().unwrap(),
                verification_email(p, None),
                None,
                None,
            )
            .await,
            NODE_TYPE,
        );
        mail.wait_for(p, 1).await;
    }
    let all = ok(
        "listCourierMessages (page_size=0)",
        courier_api::list_courier_messages(&admin, Some(0), None, None, None).await,
    );
    assert_eq!(all.len(), 2, "{all:?}");
}
