//! Recovery and verification codes under attack: a wrong code shows the form again (200, as
//! Kratos's code strategy does); every submission is counted before it is compared, so a parallel
//! burst gets no more comparisons than a patient attacker; client addresses and recipients have
//! limits of their own.

use crate::both_backends_with_mail;
use crate::helpers::{six_digits, submit_flow, MailServer, TestApp, PASSWORD};

async fn api_flow(app: &TestApp, kind: &str) -> Value {
    crate::helpers::api_flow(app, kind, None).await
}

async fn submit_as(
    app: &TestApp,
    kind: &str,
    flow: &Value,
    body: Value,
    client: Option<&str>,
) -> (u16, Value) {
    submit_flow(app, kind, flow, body, None, client).await
}

async fn submit(app: &TestApp, kind: &str, flow: &Value, body: Value) -> (u16, Value) {
    submit_flow(app, kind, flow, body, None, None).await
}
use serde_json::{json, Value};

/// A flow of `kind` with a code sent to `email`; returns the flow and the code from the mail.
async fn flow_with_code(
    app: &TestApp,
    mail: &MailServer,
    kind: &str,
    email: &str,
    nth_mail: usize,
) -> (Value, String) {
    let flow = api_flow(app, kind).await;
    let (status, body) = submit(app, kind, &flow, json!({"method": "code", "email": email})).await;
    assert_eq!(status, 200, "{body}");
    let mails = mail.wait_for(email, nth_mail).await;
    (flow, six_digits(&mails[nth_mail - 1].body))
}

fn other_than(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_string()
}

both_backends_with_mail!(
    a_wrong_code_shows_the_form_again_with_200,
    json!({}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("wrong@example.com", Some(PASSWORD))
            .await;
        for (kind, message) in [("recovery", 4060006), ("verification", 4070006)] {
            let n = if kind == "recovery" { 1 } else { 2 };
            let (flow, code) = flow_with_code(&app, &mail, kind, "wrong@example.com", n).await;
            let (status, body) = submit(
                &app,
                kind,
                &flow,
                json!({"method": "code", "code": other_than(&code)}),
            )
            .await;
            assert_eq!(status, 200, "{kind}: {body}");
            assert_eq!(body["state"], "sent_email", "{kind}: state unchanged");
            assert_eq!(body["ui"]["messages"][0]["id"], message, "{kind}");
            assert_eq!(body["ui"]["messages"][0]["type"], "error", "{kind}");
            // The right code still works afterwards.
            let (status, body) =
                submit(&app, kind, &flow, json!({"method": "code", "code": code})).await;
            assert_eq!(status, 200, "{kind}: {body}");
            assert_eq!(body["state"], "passed_challenge", "{kind}");
        }
        // A browser flow asked for JSON answers the same way.
        let c = crate::helpers::new_client();
        let flow: Value = c
            .get(app.public("/self-service/verification/browser"))
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
        let url = app.public(&format!(
            "/self-service/verification?flow={}",
            flow["id"].as_str().unwrap()
        ));
        let sent = c
            .post(&url)
            .header("Accept", "application/json")
            .json(&json!({"method": "code", "email": "wrong@example.com", "csrf_token": csrf}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
        let code = six_digits(&mail.wait_for("wrong@example.com", 3).await[2].body);
        let res = c
            .post(&url)
            .header("Accept", "application/json")
            .json(&json!({"method": "code", "code": other_than(&code), "csrf_token": csrf}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["ui"]["messages"][0]["id"], 4070006);
    }
);

both_backends_with_mail!(
    fifty_parallel_guesses_get_five_comparisons,
    json!({"ostiary": {"rate_limit": {"code_per_address": 1000}}}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("burst@example.com", Some(PASSWORD))
            .await;
        for (kind, n) in [("verification", 1), ("recovery", 2)] {
            let (flow, code) = flow_with_code(&app, &mail, kind, "burst@example.com", n).await;
            let wrong = other_than(&code);
            let guesses =
                (0..50).map(|_| {
                    let (app, flow, wrong) = (&app, &flow, wrong.clone());
                    async move {
                        submit(app, kind, flow, json!({"method": "code", "code": wrong})).await
                    }
                });
            let answers = futures::future::join_all(guesses).await;
            let compared = answers.iter().filter(|(s, _)| *s == 200).count();
            let refused = answers
                .iter()
                .filter(|(s, b)| {
                    *s == 400
                        && b["error"]["reason"]
                            == "The request was submitted too often. Please request another code."
                })
                .count();
            assert_eq!(compared, 5, "{kind}: guesses compared");
            assert_eq!(refused, 45, "{kind}: the rest refused: {answers:?}");
            // The flow's codes are void: even the right one is refused now.
            let (status, _) =
                submit(&app, kind, &flow, json!({"method": "code", "code": code})).await;
            assert_eq!(status, 400, "{kind}");
        }
        let identity: Value = app
            .client
            .get(app.admin("/admin/identities?credentials_identifier=burst@example.com"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(identity[0]["verifiable_addresses"][0]["verified"], false);
    }
);

both_backends_with_mail!(
    code_submissions_count_per_address_before_comparing,
    json!({"ostiary": {"rate_limit": {"code_per_address": 3, "trusted_proxies": ["127.0.0.0/8"]}}}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("ipv6@example.com", Some(PASSWORD))
            .await;
        let (flow, code) = flow_with_code(&app, &mail, "verification", "ipv6@example.com", 1).await;
        let wrong = json!({"method": "code", "code": other_than(&code)});
        // Three addresses of one IPv6 /64 share one count; a burst of them gets three answers.
        let burst = [
            "2001:db8:7:1::1",
            "2001:db8:7:1::2",
            "2001:db8:7:1:ffff::3",
            "2001:db8:7:1::4",
        ]
        .map(|ip| submit_as(&app, "verification", &flow, wrong.clone(), Some(ip)));
        let mut statuses: Vec<u16> = futures::future::join_all(burst)
            .await
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        statuses.sort();
        assert_eq!(statuses, [200, 200, 200, 429]);
        // Another /64 is counted apart, and the right code from it still works.
        let (status, body) = submit_as(
            &app,
            "verification",
            &flow,
            json!({"method": "code", "code": code}),
            Some("2001:db8:7:2::1"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "passed_challenge");
    }
);

both_backends_with_mail!(
    verification_links_count_against_the_address,
    json!({"selfservice": {"flows": {"verification": {"use": "link"}}},
           "ostiary": {"rate_limit": {"code_per_address": 2}}}),
    |app: TestApp, _mail: MailServer| async move {
        let flow = api_flow(&app, "verification").await;
        let id = flow["id"].as_str().unwrap();
        let mut statuses = Vec::new();
        for token in ["forged-1", "forged-2", "forged-3"] {
            let res = reqwest::Client::new()
                .get(app.public(&format!(
                    "/self-service/verification?flow={id}&token={token}"
                )))
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            statuses.push(res.status().as_u16());
        }
        assert_eq!(statuses, [200, 200, 429]);
    }
);

both_backends_with_mail!(
    codes_sent_are_limited_per_recipient_and_per_address,
    json!({"ostiary": {"rate_limit": {"code_sends_per_recipient": 2, "code_sends_per_address": 3}}}),
    |app: TestApp, mail: MailServer| async move {
        app.create_identity("inbox@example.com", Some(PASSWORD))
            .await;
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let flow = api_flow(&app, "recovery").await;
            let (status, _) = submit(
                &app,
                "recovery",
                &flow,
                json!({"method": "code", "email": "inbox@example.com"}),
            )
            .await;
            statuses.push(status);
        }
        assert_eq!(statuses, [200, 200, 429], "per recipient");
        assert_eq!(mail.wait_for("inbox@example.com", 2).await.len(), 2);
        // The client address has had three sends now (the refused one counts too).
        let flow = api_flow(&app, "verification").await;
        let (status, body) = submit(
            &app,
            "verification",
            &flow,
            json!({"method": "code", "email": "someone-else@example.com"}),
        )
        .await;
        assert_eq!(status, 429, "per address: {body}");
        assert_eq!(body["error"]["id"], "rate_limit_exceeded");
    }
);
