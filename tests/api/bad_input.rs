//! Hostile and broken input: slow clients, oversize headers and bodies, invalid UTF-8, deep nesting,
//! duplicate keys, wrong content types. Each gets a clear answer, never a 500 or a hang.

use crate::both_backends;
use crate::helpers::{spawn_app_with, Backend, TestApp};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw_exchange(
    addr: &str,
    request: &[u8],
    pause: Option<std::time::Duration>,
    rest: &[u8],
) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    if let Some(p) = pause {
        tokio::time::sleep(p).await;
    }
    let _ = s.write_all(rest).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let app = spawn_app_with(
        Backend::Sqlite,
        json!({"ostiary": {"limits": {"header_read_timeout": "500ms", "body_read_timeout": "500ms"}}}),
    )
    .await;
    let addr = app.admin_url.trim_start_matches("http://").to_string();
    // Headers that never finish: the connection is closed (408 or nothing), not held open.
    let started = std::time::Instant::now();
    let answer = raw_exchange(
        &addr,
        b"GET /health/alive HTTP/1.1\r\nHost: x\r\n",
        None,
        b"",
    )
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "cut off, not held"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A body that never finishes: 408 in the Kratos shape.
    let head = b"POST /admin/identities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"schema_id\"";
    let answer = raw_exchange(
        &addr,
        head,
        Some(std::time::Duration::from_millis(1500)),
        b"",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":408"), "{answer}");
}

both_backends!(
    malformed_bodies_get_kratos_errors,
    |app: TestApp| async move {
        let c = reqwest::Client::new();
        let post = |body: Vec<u8>, ct: &'static str| {
            let c = c.clone();
            let url = app.admin("/admin/identities");
            async move {
                let res = c
                    .post(url)
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"{\"schema_id\":\"default\",\"traits\":{\"email\":\"\xff\xfe@x.io\"}}".to_vec(), 400),
        (format!("{}1{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(), 400),
        (br#"{"schema_id":"default","schema_id":"default","traits":{"email":"dup@example.com"}}"#.to_vec(), 400),
        (br#"{"schema_id":"default","traits":{"email":"a@b.co"},"state":"sleeping"}"#.to_vec(), 400),
        (b"".to_vec(), 400),
        (b"null".to_vec(), 400),
    ];
        for (body, status) in cases {
            let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
            let (got, v) = post(body, "application/json").await;
            assert_eq!(got, status, "{shown}: {v}");
            assert_eq!(v["error"]["code"], status, "{shown}");
        }
        let (got, _) = post(
            b"schema_id=default".to_vec(),
            "application/x-www-form-urlencoded",
        )
        .await;
        assert_eq!(got, 400);

        // Flows: wrong content type, oversize body, invalid UTF-8 in a form.
        let flow: Value = c
            .get(app.public("/self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = app.public(&format!(
            "/self-service/login?flow={}",
            flow["id"].as_str().unwrap()
        ));
        let res = c
            .post(&url)
            .header("content-type", "text/xml")
            .body("<x/>")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 415);
        // The server may answer 413 before the client has finished sending, then close.
        if let Ok(res) = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .body(vec![b' '; 6 << 20])
            .send()
            .await
        {
            assert_eq!(res.status(), 413);
            assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 413);
        }
        let res = c
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"method=password&identifier=%ff%fe&password=x".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = c
            .post(&url)
            .header("content-type", "application/json")
            .body("[1,2]")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        // Oversize headers: refused by the HTTP layer, the server stays up.
        let res = c
            .get(app.public("/sessions/whoami"))
            .header("X-Session-Token", "x".repeat(1 << 20))
            .send()
            .await;
        if let Ok(res) = res {
            assert!(
                res.status() == 431 || res.status() == 400,
                "{}",
                res.status()
            );
        }
        assert_eq!(
            c.get(app.public("/health/alive"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        // Unknown paths and wrong methods: JSON errors.
        let res = c.get(app.public("/no/such/path")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 404);
        let res = c
            .put(app.public("/sessions/whoami/x"))
            .send()
            .await
            .unwrap();
        assert!(res.status() == 404 || res.status() == 405);
        let res = c.post(app.admin("/admin/sessions")).send().await.unwrap();
        assert_eq!(res.status(), 405);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 405);
    }
);

both_backends!(fuzzer_findings_stay_fixed, |app: TestApp| async move {
    let c = reqwest::Client::new();
    // Deeply nested form field names: a 400, and the server stays up.
    let flow: Value = c
        .get(app.public("/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = app.public(&format!(
        "/self-service/login?flow={}",
        flow["id"].as_str().unwrap()
    ));
    let body = format!("{}a=1", "a.".repeat(3000));
    let res = c
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Page numbers and offsets that overflow.
    let identity = app
        .create_identity("pages@example.com", Some(crate::helpers::PASSWORD))
        .await;
    let id = identity["id"].as_str().unwrap();
    let res = c
        .get(app.admin("/admin/identities?page=36893488147419104"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = c
        .get(app.admin(&format!(
            "/admin/identities/{id}/sessions?page=36893488147419104"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        r#"{"offset":"9223372036854775807","v":2}"#,
    );
    let res = c
        .get(app.admin(&format!(
            "/admin/identities/{id}/sessions?page_size=10&page_token={token}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // An absurd duration.
    let res = c
        .post(app.admin("/admin/recovery/link"))
        .json(&json!({"identity_id": id, "expires_in": "9999999999999999999999999999999999999999h30m"}))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 400 || res.status() == 404,
        "{}",
        res.status()
    );
    assert_eq!(
        c.get(app.public("/health/alive"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
});

// Submissions whose body cannot be read, on a flow that exists, answer 400 with that flow and the
// reason as its message (as Kratos does), for every flow kind; nothing is half-applied.
both_backends!(
    unreadable_submissions_answer_the_flow,
    |app: TestApp| async move {
        let c = reqwest::Client::new();
        let pw = crate::helpers::PASSWORD;
        app.create_identity("unreadable@example.com", Some(pw))
            .await;
        let token = app.native_login("unreadable@example.com", pw).await;
        let init = |path: &'static str, token: Option<String>| {
            let c = c.clone();
            let url = app.public(path);
            async move {
                let mut rb = c.get(url);
                if let Some(t) = token {
                    rb = rb.header("X-Session-Token", t);
                }
                let res = rb.send().await.unwrap();
                assert_eq!(res.status(), 200, "{path}");
                res.json::<Value>().await.unwrap()
            }
        };
        let cases: [(&str, &str, Option<String>, &str, &str); 6] = [
            (
                "/self-service/login/api",
                "login",
                None,
                "application/json",
                "{\"method\":",
            ),
            (
                "/self-service/login/api",
                "login",
                None,
                "application/json",
                r#"{"method":"password","identifier":"unreadable@example.com","password":"x","transient_payload":"text"}"#,
            ),
            (
                "/self-service/registration/api",
                "registration",
                None,
                "application/json",
                r#"{"method":"password","traits":{"email":"new-unreadable@example.com"},"password":"a-long-password-1234","transient_payload":[1]}"#,
            ),
            (
                "/self-service/settings/api",
                "settings",
                Some(token.clone()),
                "application/json",
                "[1, 2]",
            ),
            (
                "/self-service/registration/api",
                "registration",
                None,
                "application/json",
                "not json",
            ),
            (
                "/self-service/login/api",
                "login",
                None,
                "application/x-www-form-urlencoded",
                "method=password&transient_payload=abc",
            ),
        ];
        for (path, kind, session, ct, body) in cases {
            let flow = init(path, session.clone()).await;
            assert!(
                flow.get("continue_with").is_none(),
                "{kind}: no continue_with yet: {flow}"
            );
            let id = flow["id"].as_str().unwrap();
            let mut rb = c
                .post(app.public(&format!("/self-service/{kind}?flow={id}")))
                .header("content-type", ct)
                .header("accept", "application/json")
                .body(body.to_string());
            if let Some(t) = &session {
                rb = rb.header("X-Session-Token", t);
            }
            let res = rb.send().await.unwrap();
            assert_eq!(res.status(), 400, "{kind} {body}");
            let answer: Value = res.json().await.unwrap();
            assert_eq!(
                answer["id"], flow["id"],
                "{kind} {body}: the flow: {answer}"
            );
            let messages = answer["ui"]["messages"].as_array().expect("messages");
            assert_eq!(messages.len(), 1, "{answer}");
            assert_eq!(messages[0]["id"], 4000001, "{answer}");
            assert_eq!(messages[0]["type"], "error");
            if body.contains("transient_payload") {
                assert!(
                    messages[0]["text"]
                        .as_str()
                        .unwrap()
                        .contains("transient_payload"),
                    "{answer}"
                );
            }
            if kind == "settings" {
                assert_eq!(
                    answer["identity"]["traits"]["email"],
                    "unreadable@example.com"
                );
            }
            // The message is stored with the flow.
            let mut rb = c.get(app.public(&format!("/self-service/{kind}/flows?id={id}")));
            if let Some(t) = &session {
                rb = rb.header("X-Session-Token", t);
            }
            let stored: Value = rb.send().await.unwrap().json().await.unwrap();
            assert_eq!(stored["ui"]["messages"][0]["id"], 4000001, "{stored}");
        }
        // Nothing was registered from the refused registration.
        let res = c
            .get(app.admin("/admin/identities?credentials_identifier=new-unreadable@example.com"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
        // The settings flow of another caller is not shown to someone without the session.
        let flow = init("/self-service/settings/api", Some(token.clone())).await;
        let res = c
            .post(app.public(&format!(
                "/self-service/settings?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        // A 415 keeps its error envelope.
        let flow = init("/self-service/login/api", None).await;
        let res = c
            .post(app.public(&format!(
                "/self-service/login?flow={}",
                flow["id"].as_str().unwrap()
            )))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 415);
        // User-facing errors: a missing or malformed id names no error (404, as Kratos).
        for q in [
            "",
            "?id=",
            "?id=not-a-uuid",
            "?id=6b3a7b68-64a6-4f3a-9a4f-2b7c1b0c6b2e",
        ] {
            let res = c
                .get(app.public(&format!("/self-service/errors{q}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "errors{q}");
            assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 404);
        }
    }
);
