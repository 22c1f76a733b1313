//! Verification, recovery and settings with a real SMTP server: codes and links are read from the
//! delivered emails, never from the database.

use crate::both_backends_with_mail;
use crate::helpers::{api_flow, six_digits, submit_flow, MailServer, TestApp, PASSWORD};

async fn submit(
    app: &TestApp,
    kind: &str,
    flow: &Value,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    submit_flow(app, kind, flow, body, token, None).await
}
use serde_json::{json, Value};

async fn identity_by_email(app: &TestApp, email: &str) -> Value {
    let list: Value = app
        .client
        .get(app.admin(&format!("/admin/identities?credentials_identifier={email}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list[0].clone()
}

both_backends_with_mail!(
    verification_after_registration_by_code,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        let flow = api_flow(&app, "registration", None).await;
        let (status, body) = submit(&app, "registration", &flow, json!({"method": "password", "traits": {"email": "vera@example.com"}, "password": PASSWORD}), None).await;
        assert_eq!(status, 200);
        let cont = body["continue_with"].as_array().unwrap();
        let show = cont
            .iter()
            .find(|c| c["action"] == "show_verification_ui")
            .expect("show_verification_ui");
        assert_eq!(show["flow"]["verifiable_address"], "vera@example.com");
        let vflow_id = show["flow"]["id"].as_str().unwrap().to_string();
        let mails = mail.wait_for("vera@example.com", 1).await;
        assert_eq!(mails[0].subject, "Please verify your email address");
        let code = six_digits(&mails[0].body);
        assert_eq!(
            identity_by_email(&app, "vera@example.com").await["verifiable_addresses"][0]["status"],
            "sent"
        );

        let vflow: Value =
            reqwest::get(app.public(&format!("/self-service/verification/flows?id={vflow_id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(vflow["state"], "sent_email");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, body) = submit(
            &app,
            "verification",
            &vflow,
            json!({"method": "code", "code": wrong}),
            None,
        )
        .await;
        assert_eq!(status, 200, "a wrong code shows the form again");
        assert_eq!(body["ui"]["messages"][0]["id"], 4070006);
        let (status, body) = submit(
            &app,
            "verification",
            &vflow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "passed_challenge");
        assert_eq!(body["ui"]["messages"][0]["id"], 1080002);
        let identity = identity_by_email(&app, "vera@example.com").await;
        assert_eq!(identity["verifiable_addresses"][0]["verified"], true);
        assert_eq!(identity["verifiable_addresses"][0]["status"], "completed");
        assert!(identity["verifiable_addresses"][0]["verified_at"].is_string());
        // The code cannot be used twice.
        let (_, body) = submit(
            &app,
            "verification",
            &vflow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(body["ui"]["messages"][0]["id"], 4070002);
    }
);

both_backends_with_mail!(
    verification_link_and_brute_force_limit,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("link@example.com", Some(PASSWORD))
            .await;
        let flow = api_flow(&app, "verification", None).await;
        let (status, body) = submit(
            &app,
            "verification",
            &flow,
            json!({"method": "code", "email": "LINK@example.com"}),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["state"], "sent_email");
        assert_eq!(body["ui"]["messages"][0]["id"], 1080003);
        let mails = mail.wait_for("link@example.com", 1).await;
        let code = six_digits(&mails[0].body);
        // Five wrong codes void the flow: the right one is refused afterwards.
        for wrong in ["000001", "000002", "000003", "000004", "000005"] {
            if wrong == code {
                continue;
            }
            let (status, _) = submit(
                &app,
                "verification",
                &flow,
                json!({"method": "code", "code": wrong}),
                None,
            )
            .await;
            assert_eq!(status, 200);
        }
        let (status, _) = submit(
            &app,
            "verification",
            &flow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(status, 400, "brute force limit");
        assert_eq!(
            identity_by_email(&app, "link@example.com").await["verifiable_addresses"][0]
                ["verified"],
            false
        );

        // A fresh flow: the link from the email verifies with one click.
        let flow = api_flow(&app, "verification", None).await;
        submit(
            &app,
            "verification",
            &flow,
            json!({"method": "code", "email": "link@example.com"}),
            None,
        )
        .await;
        let mails = mail.wait_for("link@example.com", 2).await;
        let url = mails[1]
            .body
            .lines()
            .find(|l| l.contains("/self-service/verification?flow="))
            .unwrap()
            .trim()
            .to_string();
        // Change the last character (to one it is not: a fixed replacement would sometimes be the
        // character already there, and the "tampered" link the real one).
        let last = if url.ends_with('9') { '8' } else { '9' };
        let tampered = format!("{}{last}", &url[..url.len() - 1]);
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(&tampered)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            identity_by_email(&app, "link@example.com").await["verifiable_addresses"][0]
                ["verified"],
            false
        );
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            identity_by_email(&app, "link@example.com").await["verifiable_addresses"][0]
                ["verified"],
            true
        );
    }
);

both_backends_with_mail!(
    recovery_by_code_then_settings,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("rita@example.com", Some(PASSWORD))
            .await;
        let old_session = app.native_login("rita@example.com", PASSWORD).await;
        let flow = api_flow(&app, "recovery", None).await;
        assert_eq!(flow["ui"]["nodes"][0]["attributes"]["name"], "email");
        // Unknown and known addresses get the same answer.
        let (s1, unknown) = submit(
            &app,
            "recovery",
            &flow,
            json!({"method": "code", "email": "nobody@example.com"}),
            None,
        )
        .await;
        let flow = api_flow(&app, "recovery", None).await;
        let (s2, known) = submit(
            &app,
            "recovery",
            &flow,
            json!({"method": "code", "email": "rita@example.com"}),
            None,
        )
        .await;
        assert_eq!((s1, s2), (200, 200));
        assert_eq!(unknown["state"], known["state"]);
        assert_eq!(unknown["ui"]["messages"], known["ui"]["messages"]);
        let queued: Value = app
            .client
            .get(app.admin("/admin/courier/messages?recipient=nobody@example.com"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            queued,
            json!([]),
            "no mail to unknown addresses unless notify_unknown_recipients"
        );

        let mails = mail.wait_for("rita@example.com", 1).await;
        assert_eq!(mails[0].subject, "Recover access to your account");
        let code = six_digits(&mails[0].body);
        let (status, body) = submit(
            &app,
            "recovery",
            &flow,
            json!({"method": "code", "code": "12345x"}),
            None,
        )
        .await;
        assert_eq!(status, 200, "a wrong code shows the form again");
        assert_eq!(body["ui"]["messages"][0]["id"], 4060006);
        let (status, body) = submit(
            &app,
            "recovery",
            &flow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "passed_challenge");
        let cont = body["continue_with"].as_array().unwrap();
        let token = cont
            .iter()
            .find(|c| c["action"] == "set_ory_session_token")
            .unwrap()["ory_session_token"]
            .as_str()
            .unwrap()
            .to_string();
        let settings_id = cont
            .iter()
            .find(|c| c["action"] == "show_settings_ui")
            .unwrap()["flow"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, session) = app.whoami(&token).await;
        assert_eq!(status, 200);
        assert_eq!(
            session["authentication_methods"][0]["method"],
            "code_recovery"
        );

        // Continue in the settings flow: a new password.
        let res = reqwest::Client::new()
            .get(app.public(&format!("/self-service/settings/flows?id={settings_id}")))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let sflow: Value = res.json().await.unwrap();
        assert_eq!(sflow["identity"]["traits"]["email"], "rita@example.com");
        let (status, body) = submit(
            &app,
            "settings",
            &sflow,
            json!({"method": "password", "password": PASSWORD}),
            Some(&token),
        )
        .await;
        assert_eq!(status, 400, "same password refused");
        assert!(body.to_string().contains("4000039"));
        let (status, body) = submit(
            &app,
            "settings",
            &sflow,
            json!({"method": "password", "password": "a brand new secret phrase"}),
            Some(&token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "success");
        assert_eq!(body["ui"]["messages"][0]["id"], 1050001);
        app.native_login("rita@example.com", "a brand new secret phrase")
            .await;
        // Without the hook, the old session survives.
        assert_eq!(app.whoami(&old_session).await.0, 200);
        // Another identity's session cannot use this settings flow.
        app.create_identity("eve@example.com", Some(PASSWORD)).await;
        let eve = app.native_login("eve@example.com", PASSWORD).await;
        let (status, body) = submit(
            &app,
            "settings",
            &sflow,
            json!({"method": "password", "password": "eve takes over now"}),
            Some(&eve),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(body["error"]["id"], "security_identity_mismatch");
    }
);

both_backends_with_mail!(
    settings_needs_recent_login_and_revokes_on_password_change,
    json!({"selfservice": {"flows": {"settings": {"after": {"password": {"hooks": [{"hook": "revoke_active_sessions"}]}}}}}}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("sam@example.com", Some(PASSWORD)).await;
        let token = app.native_login("sam@example.com", PASSWORD).await;
        let other = app.native_login("sam@example.com", PASSWORD).await;
        let res = reqwest::get(app.public("/self-service/settings/api"))
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["id"],
            "session_inactive"
        );
        let flow = api_flow(&app, "settings", Some(&token)).await;
        // Profile: change the email; a verification mail goes to the new address.
        let (status, body) = submit(
            &app,
            "settings",
            &flow,
            json!({"method": "profile", "traits": {"email": "samuel@example.com"}}),
            Some(&token),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["identity"]["traits"]["email"], "samuel@example.com");
        mail.wait_for("samuel@example.com", 1).await;
        let (status, _) = submit(
            &app,
            "settings",
            &flow,
            json!({"method": "profile", "traits": {"email": "not an email"}}),
            Some(&token),
        )
        .await;
        assert_eq!(status, 400);
        // Password change with the revoke hook ends the other session.
        let (status, _) = submit(
            &app,
            "settings",
            &flow,
            json!({"method": "password", "password": "another strong phrase"}),
            Some(&token),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(app.whoami(&other).await.0, 401);
        assert_eq!(app.whoami(&token).await.0, 200);
        // An old login is not privileged: 403 session_refresh_required.
        app.registry.clock.advance(chrono::Duration::hours(2));
        let flow = api_flow(&app, "settings", Some(&token)).await;
        let (status, body) = submit(
            &app,
            "settings",
            &flow,
            json!({"method": "password", "password": "yet another strong phrase"}),
            Some(&token),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(body["error"]["id"], "session_refresh_required");
        assert!(body["redirect_browser_to"]
            .as_str()
            .unwrap()
            .contains("/self-service/login/browser?refresh=true"));
    }
);

both_backends_with_mail!(
    admin_recovery_code_and_link,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let identity = app.create_identity("ada@example.com", Some(PASSWORD)).await;
        let id = identity["id"].as_str().unwrap();
        let res = app
            .client
            .post(app.admin("/admin/recovery/code"))
            .json(&json!({"identity_id": id, "flow_type": "api"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let code = body["recovery_code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 6);
        let flow_id = body["recovery_link"]
            .as_str()
            .unwrap()
            .split("flow=")
            .nth(1)
            .unwrap()
            .to_string();
        let flow: Value =
            reqwest::get(app.public(&format!("/self-service/recovery/flows?id={flow_id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let (status, body) = submit(
            &app,
            "recovery",
            &flow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        for bad in [
            json!({"identity_id": uuid::Uuid::new_v4()}),
            json!({"identity_id": "nope"}),
            json!({}),
            json!({"identity_id": id, "expires_in": "soon"}),
        ] {
            let res = app
                .client
                .post(app.admin("/admin/recovery/code"))
                .json(&bad)
                .send()
                .await
                .unwrap();
            assert!(
                res.status() == 400 || res.status() == 404,
                "{bad}: {}",
                res.status()
            );
        }

        let res = app
            .client
            .post(app.admin("/admin/recovery/link"))
            .json(&json!({"identity_id": id, "expires_in": "10m"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let link = res.json::<Value>().await.unwrap()["recovery_link"]
            .as_str()
            .unwrap()
            .to_string();
        let browser = crate::helpers::new_client();
        let res = browser.get(&link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("settings?flow="));
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ory_kratos_session=")));
        let session: Value = browser
            .get(app.public("/sessions/whoami"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(session["identity"]["id"], id);
        // The link works once.
        let res = crate::helpers::new_client()
            .get(&link)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("recovery?flow="));
        let res = app
            .client
            .post(app.admin("/admin/recovery/link"))
            .json(&json!({"identity_id": uuid::Uuid::new_v4()}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
);

both_backends_with_mail!(
    courier_retries_until_the_server_is_back,
    json!({}),
    |app: TestApp, mut mail: MailServer| async move {
        app.create_identity("retry@example.com", Some(PASSWORD))
            .await;
        mail.stop();
        let flow = api_flow(&app, "verification", None).await;
        submit(
            &app,
            "verification",
            &flow,
            json!({"method": "code", "email": "retry@example.com"}),
            None,
        )
        .await;
        // The message fails at least once while the server is down…
        let mut failed = false;
        for _ in 0..200 {
            let list: Value = app
                .client
                .get(app.admin("/admin/courier/messages?recipient=retry@example.com"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if list[0]["send_count"].as_i64().unwrap_or(0) >= 1 {
                assert_eq!(list[0]["status"], "queued");
                failed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            failed,
            "delivery was attempted while the SMTP server was down"
        );
        // …and is delivered once the server is back, exactly once.
        mail.restart().await;
        let mails = mail.wait_for("retry@example.com", 1).await;
        assert_eq!(mails.len(), 1);
        // The server stores the mail before the dispatcher records the success: wait for it.
        let mut list = Value::Null;
        for _ in 0..100 {
            list = app
                .client
                .get(app.admin("/admin/courier/messages?status=sent"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if list.as_array().map(|l| !l.is_empty()).unwrap_or(false) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(list.as_array().unwrap().len(), 1);
        let id = list[0]["id"].as_str().unwrap();
        let one: Value = app
            .client
            .get(app.admin(&format!("/admin/courier/messages/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let dispatches = one["dispatches"].as_array().unwrap();
        assert!(dispatches.len() >= 2);
        assert_eq!(dispatches.last().unwrap()["status"], "success");
        assert_eq!(
            one["body"],
            ostiary::persistence::courier::REDACTED_BODY,
            "a sent message's body is redacted, in dev mode too"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(mail.all().len(), 1, "never sent twice");
        assert_eq!(
            app.client
                .get(app.admin("/admin/courier/messages?status=bogus"))
                .send()
                .await
                .unwrap()
                .status(),
            400
        );
    }
);

both_backends_with_mail!(
    login_requires_a_verified_address_when_configured,
    json!({"selfservice": {"flows": {"login": {"after": {"password": {"hooks": [{"hook": "require_verified_address"}]}}}}}}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("unverified@example.com", Some(PASSWORD))
            .await;
        let flow = api_flow(&app, "login", None).await;
        let (status, body) = submit(&app, "login", &flow, json!({"method": "password", "identifier": "unverified@example.com", "password": PASSWORD}), None).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["id"], "session_verified_address_required");
        let vflow_id = body["error"]["details"]["continue_with"][0]["flow"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let code = six_digits(&mail.wait_for("unverified@example.com", 1).await[0].body);
        let vflow: Value =
            reqwest::get(app.public(&format!("/self-service/verification/flows?id={vflow_id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let (status, _) = submit(
            &app,
            "verification",
            &vflow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(status, 200);
        // Verified now: login succeeds.
        app.native_login("unverified@example.com", PASSWORD).await;
    }
);

both_backends_with_mail!(
    recovery_by_link_and_expired_codes,
    json!({"selfservice": {"flows": {"recovery": {"use": "link"}}}}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("lina@example.com", Some(PASSWORD))
            .await;
        let browser = crate::helpers::new_client();
        let res = browser
            .get(app.public("/self-service/recovery/browser"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let flow: Value = res.json().await.unwrap();
        let csrf = flow["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["attributes"]["name"] == "csrf_token")
            .unwrap()["attributes"]["value"]
            .as_str()
            .unwrap()
            .to_string();
        let id = flow["id"].as_str().unwrap();
        let res = browser
            .post(app.public(&format!("/self-service/recovery?flow={id}")))
            .header("Accept", "application/json")
            .json(&json!({"method": "link", "email": "lina@example.com", "csrf_token": csrf}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Value>().await.unwrap()["ui"]["messages"][0]["id"],
            1060002
        );
        let mails = mail.wait_for("lina@example.com", 1).await;
        let link = mails[0]
            .body
            .lines()
            .find(|l| l.contains("/self-service/recovery?flow="))
            .unwrap()
            .trim()
            .to_string();
        let res = browser.get(&link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/fallback/settings?flow="));
        let session: Value = browser
            .get(app.public("/sessions/whoami"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            session["authentication_methods"][0]["method"],
            "link_recovery"
        );
        // Recovery proves control of the address: it is verified now.
        assert_eq!(
            session["identity"]["verifiable_addresses"][0]["verified"],
            true
        );

        // An expired code is refused even when right.
        let res = app.client.post(app.admin("/admin/recovery/code")).json(&json!({"identity_id": session["identity"]["id"], "flow_type": "api", "expires_in": "1m"})).send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        let code = body["recovery_code"].as_str().unwrap().to_string();
        let flow_id = body["recovery_link"]
            .as_str()
            .unwrap()
            .split("flow=")
            .nth(1)
            .unwrap()
            .to_string();
        let flow: Value =
            reqwest::get(app.public(&format!("/self-service/recovery/flows?id={flow_id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        app.registry.clock.advance(chrono::Duration::minutes(2));
        let (status, body) = submit(
            &app,
            "recovery",
            &flow,
            json!({"method": "code", "code": code}),
            None,
        )
        .await;
        assert_eq!(status, 410, "{body}");
        assert_eq!(body["error"]["id"], "self_service_flow_expired");
    }
);

both_backends_with_mail!(
    settings_browser_needs_a_session,
    json!({}),
    |app: TestApp, _mail: MailServer| async move {
        let res = crate::helpers::new_client()
            .get(app.public("/self-service/settings/browser"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let loc = res.headers()["location"].to_str().unwrap();
        assert!(
            loc.starts_with(&app.public("/self-service/login/browser?return_to=")),
            "{loc}"
        );
        let res = crate::helpers::new_client()
            .get(app.public("/self-service/settings/browser"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let res = reqwest::get(app.public(&format!(
            "/self-service/settings/flows?id={}",
            uuid::Uuid::new_v4()
        )))
        .await
        .unwrap();
        assert_eq!(res.status(), 404);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_send_each_message_once() {
    if !crate::helpers::postgres_available().await {
        return;
    }
    let (a, mail) =
        crate::helpers::spawn_app_with_mail(crate::helpers::Backend::Postgres, json!({})).await;
    // A second node on the same database, with its own dispatcher.
    let b = crate::helpers::spawn_node_on(
        &a,
        json!({"courier": {"smtp": {"connection_uri": mail.uri()}},
               "selfservice": {"flows": {"verification": {"enabled": true}}}}),
    )
    .await;
    for i in 0..20 {
        let email = format!("twice{i}@example.com");
        a.create_identity(&email, Some(PASSWORD)).await;
        let node = if i % 2 == 0 { &a } else { &b };
        let flow = api_flow(node, "verification", None).await;
        submit(
            node,
            "verification",
            &flow,
            json!({"method": "code", "email": email}),
            None,
        )
        .await;
    }
    for i in 0..20 {
        mail.wait_for(&format!("twice{i}@example.com"), 1).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(mail.all().len(), 20, "every message delivered exactly once");
}

/// Wait (bounded, 10 s) until a message to `to` from `template` has `status`; returns it as the
/// admin API shows it.
async fn message_with_status(app: &TestApp, to: &str, template: &str, status: &str) -> Value {
    for _ in 0..200 {
        let list: Value = app
            .client
            .get(app.admin(&format!(
                "/admin/courier/messages?recipient={to}&status={status}"
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(m) = list
            .as_array()
            .and_then(|l| l.iter().find(|m| m["template_type"] == template))
        {
            return m.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {status} {template} message for {to}");
}

/// Sent and abandoned messages keep no code or link in the database: their bodies are redacted,
/// and so is a subject that shows a code (here through an override template).
async fn delivered_messages_keep_no_secrets(backend: crate::helpers::Backend) {
    use ostiary::persistence::courier::REDACTED_BODY;
    let templates = tempfile::tempdir().unwrap();
    let dir = templates.path().join("verification_code/valid");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("email.subject.gotmpl"),
        "Your code is {{ .VerificationCode }}",
    )
    .unwrap();
    let (app, mut mail) = crate::helpers::spawn_app_with_mail(
        backend,
        json!({"courier": {
            "template_override_path": templates.path().to_str().unwrap(),
            "message_retries": 1
        }}),
    )
    .await;
    app.create_identity("kept@example.com", Some(PASSWORD))
        .await;
    let stored = |id: &str| {
        let p = app.registry.persister.clone();
        let id = uuid::Uuid::parse_str(id).unwrap();
        async move { p.get_message(id).await.unwrap().unwrap().0 }
    };

    // Verification: the code is in the delivered subject and body, then nowhere in the database.
    let flow = api_flow(&app, "verification", None).await;
    submit(
        &app,
        "verification",
        &flow,
        json!({"method": "code", "email": "kept@example.com"}),
        None,
    )
    .await;
    let delivered = mail.wait_for("kept@example.com", 1).await;
    let code = six_digits(&delivered[0].body);
    assert_eq!(delivered[0].subject, format!("Your code is {code}"));
    let sent =
        message_with_status(&app, "kept@example.com", "verification_code_valid", "sent").await;
    let m = stored(sent["id"].as_str().unwrap()).await;
    assert_eq!(m.body, REDACTED_BODY);
    assert_eq!(m.subject, REDACTED_BODY);
    assert!(!m.body.contains(&code) && !m.subject.contains(&code));
    // The admin API (dev mode shows stored bodies) shows the redacted text.
    assert_eq!(sent["body"], REDACTED_BODY);

    // Recovery: the built-in subject holds no secret and is kept; the body is redacted.
    let flow = api_flow(&app, "recovery", None).await;
    submit(
        &app,
        "recovery",
        &flow,
        json!({"method": "code", "email": "kept@example.com"}),
        None,
    )
    .await;
    let delivered = mail.wait_for("kept@example.com", 2).await;
    let code = six_digits(&delivered[1].body);
    let sent = message_with_status(&app, "kept@example.com", "recovery_code_valid", "sent").await;
    let m = stored(sent["id"].as_str().unwrap()).await;
    assert_eq!(m.body, REDACTED_BODY);
    assert!(!m.body.contains(&code));
    assert_eq!(m.subject, "Recover access to your account");

    // Abandoned (the server is gone and one attempt is all there is): redacted as well.
    mail.stop();
    let flow = api_flow(&app, "verification", None).await;
    submit(
        &app,
        "verification",
        &flow,
        json!({"method": "code", "email": "kept@example.com"}),
        None,
    )
    .await;
    let abandoned = message_with_status(
        &app,
        "kept@example.com",
        "verification_code_valid",
        "abandoned",
    )
    .await;
    let m = stored(abandoned["id"].as_str().unwrap()).await;
    assert_eq!(m.body, REDACTED_BODY);
    assert_eq!(m.subject, REDACTED_BODY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_messages_keep_no_secrets_sqlite() {
    delivered_messages_keep_no_secrets(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_messages_keep_no_secrets_postgres() {
    if !crate::helpers::postgres_available().await {
        return;
    }
    delivered_messages_keep_no_secrets(crate::helpers::Backend::Postgres).await;
}
