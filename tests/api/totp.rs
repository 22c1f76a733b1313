//! TOTP: set up an authenticator app in settings (the QR code and the secret it shows, a wrong
//! and a right first code), step a session up to aal2 with a login flow opened with `aal=aal2`,
//! and unlink it again. Codes are computed by `totp-rs` from the secret read back out of the QR
//! image by `rqrr`, as a phone would.

use crate::both_backends_with;
use crate::helpers::{api_flow, submit_flow, TestApp, PASSWORD};
use base64::Engine;
use serde_json::{json, Value};

fn overlay() -> Value {
    json!({"selfservice": {"methods": {"totp": {"enabled": true, "config": {"issuer": "Ostiary Test"}}}}})
}

fn node<'a>(flow: &'a Value, name: &str) -> Option<&'a Value> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name || n["attributes"]["id"] == name)
}

/// The otpauth URL in a settings flow's QR image, read as a phone would.
fn scan(flow: &Value) -> String {
    let src = node(flow, "totp_qr").expect("a QR node")["attributes"]["src"]
        .as_str()
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(src.strip_prefix("data:image/png;base64,").unwrap())
        .unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

fn code_now(url: &str) -> String {
    let secret = url
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .generate_current()
        .unwrap()
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 500_000) % 1_000_000)
}

async fn aal2_login_flow(app: &TestApp, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(app.public("/self-service/login/api?aal=aal2"))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

both_backends_with!(
    an_authenticator_app_is_set_up_steps_a_session_up_and_is_unlinked,
    overlay(),
    |app: TestApp| async move {
        let created = app.create_identity("otp@example.com", Some(PASSWORD)).await;
        let token = app.native_login("otp@example.com", PASSWORD).await;

        // Settings shows a QR code and the same secret as text; the URL names the issuer and the
        // account (the identity id: the test schema marks no trait as the account name).
        let flow = api_flow(&app, "settings", Some(&token)).await;
        let url = scan(&flow);
        let secret_node = node(&flow, "totp_secret_key").unwrap();
        let secret = secret_node["attributes"]["text"]["context"]["secret"]
            .as_str()
            .unwrap();
        assert_eq!(secret_node["attributes"]["text"]["id"], 1050006);
        assert_eq!(secret_node["meta"]["label"]["id"], 1050017);
        assert_eq!(secret.len(), 32);
        assert_eq!(
            url,
            format!(
                "otpauth://totp/Ostiary%20Test:{}?algorithm=SHA1&digits=6&issuer=Ostiary%20Test&period=30&secret={secret}",
                created["id"].as_str().unwrap()
            )
        );
        assert_eq!(
            node(&flow, "totp_code").unwrap()["meta"]["label"]["id"],
            1070006
        );
        assert!(node(&flow, "totp_unlink").is_none());

        // A wrong code: 400, the message on the code field, and the same key on the flow.
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp", "totp_code": wrong(&code_now(&url))}),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            node(&body, "totp_code").unwrap()["messages"][0]["id"],
            4000008
        );
        assert_eq!(scan(&body), url, "the key stays while the flow lives");
        // No code at all.
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp"}),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            node(&body, "totp_code").unwrap()["messages"][0]["id"],
            4000002
        );

        // The right code: saved, the form now offers to unlink, and the session that typed the
        // code is aal2 at once.
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp", "totp_code": code_now(&url)}),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "success");
        assert_eq!(body["ui"]["messages"][0]["id"], 1050001);
        assert!(node(&body, "totp_unlink").is_some());
        assert!(node(&body, "totp_qr").is_none());
        let (_, me) = app.whoami(&token).await;
        assert_eq!(me["authenticator_assurance_level"], "aal2");
        assert_eq!(me["authentication_methods"][1]["method"], "totp");
        assert_eq!(me["authentication_methods"][1]["aal"], "aal2");

        // The admin sees the credential, never the key.
        let admin: Value = app
            .client
            .get(app.admin(&format!(
                "/admin/identities/{}?include_credential=totp",
                created["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let cred = &admin["credentials"]["totp"];
        assert_eq!(cred["type"], "totp");
        assert_eq!(cred["identifiers"], json!([created["id"]]));
        assert!(!cred.to_string().contains(secret), "{cred}");

        // A new password login is aal1; a login flow with aal=aal2 asks for the app's code.
        // Until it does, whoami, the session list and settings refuse it (Kratos's default
        // `highest_available`), pointing the browser at an aal2 login.
        let second = app.native_login("otp@example.com", PASSWORD).await;
        let (status, refused) = app.whoami(&second).await;
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["error"]["id"], "session_aal2_required");
        assert_eq!(
            refused["redirect_browser_to"],
            app.public("/self-service/login/browser?aal=aal2")
        );
        assert_eq!(
            refused["error"]["details"]["redirect_browser_to"],
            refused["redirect_browser_to"]
        );
        let listed = reqwest::Client::new()
            .get(app.public("/sessions"))
            .header("X-Session-Token", &second)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 403);
        let settings = reqwest::Client::new()
            .get(app.public("/self-service/settings/api"))
            .header("X-Session-Token", &second)
            .send()
            .await
            .unwrap();
        assert_eq!(settings.status(), 403);
        let settings: Value = settings.json().await.unwrap();
        assert_eq!(settings["error"]["id"], "session_aal2_required");
        let (status, flow) = aal2_login_flow(&app, &second).await;
        assert_eq!(status, 200, "{flow}");
        assert_eq!(flow["requested_aal"], "aal2");
        assert_eq!(flow["ui"]["messages"][0]["id"], 1010004);
        assert!(node(&flow, "password").is_none(), "no first factor at aal2");
        assert!(node(&flow, "identifier").is_none());
        assert_eq!(
            node(&flow, "totp_code").unwrap()["meta"]["label"]["id"],
            1010006
        );
        assert_eq!(
            node(&flow, "method").unwrap()["meta"]["label"]["id"],
            1010009
        );
        let (status, body) = submit_flow(
            &app,
            "login",
            &flow,
            json!({"method": "totp", "totp_code": wrong(&code_now(&url))}),
            Some(&second),
            None,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000008);
        let (status, body) = submit_flow(
            &app,
            "login",
            &flow,
            json!({"method": "totp", "totp_code": code_now(&url)}),
            Some(&second),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // The same session, now aal2, and the same token.
        assert_eq!(body["session_token"], second);
        assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
        let (_, me) = app.whoami(&second).await;
        assert_eq!(me["authenticator_assurance_level"], "aal2");
        assert_eq!(me["id"], body["session"]["id"]);
        let methods: Vec<&str> = me["authentication_methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["method"].as_str().unwrap())
            .collect();
        assert_eq!(methods, ["password", "totp"]);
        // At aal2 already: no second aal2 login.
        let (status, _) = aal2_login_flow(&app, &second).await;
        assert_eq!(status, 400);

        // Unlink: the form offers a new key, and a later aal2 login has nothing to ask for.
        let flow = api_flow(&app, "settings", Some(&second)).await;
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp", "totp_unlink": true}),
            Some(&second),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_ne!(scan(&body), url, "a new key after unlinking");
        let third = app.native_login("otp@example.com", PASSWORD).await;
        let (_, flow) = aal2_login_flow(&app, &third).await;
        assert!(node(&flow, "totp_code").is_none());
        let (status, body) = submit_flow(
            &app,
            "login",
            &flow,
            json!({"method": "totp", "totp_code": code_now(&url)}),
            Some(&third),
            None,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4000011);
    }
);

both_backends_with!(
    a_disabled_totp_method_is_neither_offered_nor_accepted,
    json!({}),
    |app: TestApp| async move {
        app.create_identity("nootp@example.com", Some(PASSWORD))
            .await;
        let token = app.native_login("nootp@example.com", PASSWORD).await;
        let flow = api_flow(&app, "settings", Some(&token)).await;
        assert!(node(&flow, "totp_qr").is_none());
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp", "totp_code": "123456"}),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4010004);
    }
);

fn schema_with_account_name() -> Value {
    let schema = json!({
        "$id": "https://example.com/totp.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": {"email": {
            "type": "string", "format": "email",
            "ory.sh/kratos": {"credentials": {
                "password": {"identifier": true},
                "totp": {"account_name": true}
            }}
        }}, "required": ["email"]}}
    });
    let url = format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(schema.to_string())
    );
    let mut o = overlay();
    o["identity"] =
        json!({"default_schema_id": "default", "schemas": [{"id": "default", "url": url}]});
    o
}

both_backends_with!(
    the_account_name_is_the_trait_the_schema_marks,
    schema_with_account_name(),
    |app: TestApp| async move {
        app.create_identity("named@example.com", Some(PASSWORD))
            .await;
        let token = app.native_login("named@example.com", PASSWORD).await;
        let flow = api_flow(&app, "settings", Some(&token)).await;
        let url = scan(&flow);
        assert!(
            url.starts_with("otpauth://totp/Ostiary%20Test:named@example.com?"),
            "{url}"
        );
    }
);

both_backends_with!(
    setting_up_or_unlinking_needs_a_recent_login,
    {
        let mut o = overlay();
        o["selfservice"]["flows"] = json!({"settings": {"privileged_session_max_age": "1ms"}});
        o
    },
    |app: TestApp| async move {
        app.create_identity("stale@example.com", Some(PASSWORD))
            .await;
        let token = app.native_login("stale@example.com", PASSWORD).await;
        let flow = api_flow(&app, "settings", Some(&token)).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let url = scan(&flow);
        let (status, body) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp", "totp_code": code_now(&url)}),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["id"], "session_refresh_required");
        // Nothing was set up: the session is still aal1.
        let (_, me) = app.whoami(&token).await;
        assert_eq!(me["authenticator_assurance_level"], "aal1");
    }
);

both_backends_with!(
    required_aal_aal1_lets_a_first_factor_session_through,
    {
        let mut o = overlay();
        o["session"] = json!({"whoami": {"required_aal": "aal1"}});
        o["selfservice"]["flows"] = json!({"settings": {"required_aal": "aal1"}});
        o
    },
    |app: TestApp| async move {
        app.create_identity("lenient@example.com", Some(PASSWORD))
            .await;
        let first = app.native_login("lenient@example.com", PASSWORD).await;
        let flow = api_flow(&app, "settings", Some(&first)).await;
        let url = scan(&flow);
        let (status, _) = submit_flow(
            &app,
            "settings",
            &flow,
            json!({"method": "totp", "totp_code": code_now(&url)}),
            Some(&first),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let second = app.native_login("lenient@example.com", PASSWORD).await;
        let (status, me) = app.whoami(&second).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["authenticator_assurance_level"], "aal1");
        api_flow(&app, "settings", Some(&second)).await;
    }
);

both_backends_with!(
    a_first_factor_login_sends_the_browser_on_to_its_second_factor,
    overlay(),
    |app: TestApp| async move {
        use crate::helpers::new_client;
        app.create_identity("stepup@example.com", Some(PASSWORD))
            .await;
        let first = app.native_login("stepup@example.com", PASSWORD).await;
        let flow = api_flow(&app, "settings", Some(&first)).await;
        let url = scan(&flow);
        let body = json!({"method": "totp", "totp_code": code_now(&url)});
        let (status, _) = submit_flow(&app, "settings", &flow, body, Some(&first), None).await;
        assert_eq!(status, 200);

        // An API client gets its session, without the identity until the second factor.
        let flow = api_flow(&app, "login", None).await;
        let login =
            json!({"method": "password", "identifier": "stepup@example.com", "password": PASSWORD});
        let (status, body) = submit_flow(&app, "login", &flow, login.clone(), None, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["session_token"].is_string());
        assert_eq!(body["session"]["identity"], Value::Null);
        assert_eq!(body["session"]["authenticator_assurance_level"], "aal1");

        // A SPA gets 422 towards the aal2 login, with its session cookie.
        let c = new_client();
        let flow: Value = c
            .get(app.public(
                "/self-service/login/browser?return_to=https://allowed.example.com/welcome",
            ))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let csrf = crate::browser::csrf_value(&flow);
        let mut spa = login.clone();
        spa["csrf_token"] = json!(csrf);
        let res = c
            .post(app.public(&format!(
                "/self-service/login?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .header("Accept", "application/json")
            .json(&spa)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.headers().get("set-cookie").is_some());
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["id"], "browser_location_change_required");
        assert_eq!(
            e["redirect_browser_to"],
            app.public(
                "/self-service/login/browser?aal=aal2&return_to=https%3A%2F%2Fallowed.example.com%2Fwelcome"
            )
        );
    }
);

both_backends_with!(
    second_factor_codes_are_counted_per_identity_before_comparing,
    {
        let mut o = overlay();
        o["ostiary"] =
            json!({"rate_limit": {"code_per_address": 3, "trusted_proxies": ["127.0.0.0/8"]}});
        o
    },
    |app: TestApp| async move {
        app.create_identity("burst@example.com", Some(PASSWORD))
            .await;
        let first = app.native_login("burst@example.com", PASSWORD).await;
        let flow = api_flow(&app, "settings", Some(&first)).await;
        let url = scan(&flow);
        let body = json!({"method": "totp", "totp_code": code_now(&url)});
        let (status, _) = submit_flow(&app, "settings", &flow, body, Some(&first), None).await;
        assert_eq!(status, 200);

        // Six wrong codes at once, each from another address: the identity's count lets three
        // be compared and refuses the rest, however they interleave.
        let token = app.native_login("burst@example.com", PASSWORD).await;
        let mut flows = Vec::new();
        for _ in 0..6 {
            flows.push(aal2_login_flow(&app, &token).await.1);
        }
        let wrong_code = wrong(&code_now(&url));
        let tries = flows.iter().enumerate().map(|(i, f)| {
            let (app, token, code) = (&app, &token, wrong_code.clone());
            async move {
                let ip = format!("203.0.113.{}", i + 1);
                let body = json!({"method": "totp", "totp_code": code});
                submit_flow(app, "login", f, body, Some(token), Some(&ip)).await
            }
        });
        let results = futures::future::join_all(tries).await;
        let mut statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
        statuses.sort();
        assert_eq!(statuses, [400, 400, 400, 429, 429, 429], "{results:?}");
        // The right code is refused too while the identity is over its limit.
        let (status, _) = submit_flow(
            &app,
            "login",
            &flows[0],
            json!({"method": "totp", "totp_code": code_now(&url)}),
            Some(&token),
            Some("203.0.113.99"),
        )
        .await;
        assert_eq!(status, 429);
    }
);
