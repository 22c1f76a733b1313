//! Admin identity API: create, get, list (filters, pagination), update, patch, batch, delete.

use crate::both_backends;
use crate::helpers::TestApp;
use serde_json::{json, Value};

both_backends!(empty_list_then_create_and_find, |app: TestApp| async move {
    let res = app
        .client
        .get(app.admin("/admin/identities"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));

    let created = app
        .create_identity("Alice@Example.com", Some("correct horse battery staple"))
        .await;
    assert_eq!(created["schema_id"], "default");
    assert_eq!(created["state"], "active");
    assert_eq!(created["traits"]["email"], "Alice@Example.com");
    assert!(created["schema_url"]
        .as_str()
        .unwrap()
        .ends_with("/schemas/ZGVmYXVsdA"));
    assert_eq!(
        created["credentials"]["password"]["identifiers"],
        json!(["alice@example.com"])
    );
    assert!(created["credentials"]["password"].get("config").is_none());
    assert_eq!(
        created["verifiable_addresses"][0]["value"],
        "alice@example.com"
    );
    assert_eq!(created["verifiable_addresses"][0]["status"], "pending");
    assert_eq!(created["verifiable_addresses"][0]["verified"], false);
    assert_eq!(created["recovery_addresses"][0]["via"], "email");
    assert!(created.get("metadata_admin").is_some());

    // Case-insensitive identifier lookup.
    let found: Value = app
        .client
        .get(app.admin("/admin/identities?credentials_identifier=ALICE@example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], created["id"]);

    // Bare path on the admin port is the same as /admin/...
    let res = app
        .client
        .get(app.admin("/identities"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap().as_array().unwrap().len(),
        1
    );
});

both_backends!(
    get_with_and_without_credentials_config,
    |app: TestApp| async move {
        let created = app
            .create_identity("bob@example.com", Some("correct horse battery staple"))
            .await;
        let id = created["id"].as_str().unwrap();
        let res = app
            .client
            .get(app.admin(&format!("/admin/identities/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let plain: Value = res.json().await.unwrap();
        assert!(plain["credentials"]["password"].get("config").is_none());
        let with: Value = app
            .client
            .get(app.admin(&format!(
                "/admin/identities/{id}?include_credential=password"
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hash = with["credentials"]["password"]["config"]["hashed_password"]
            .as_str()
            .unwrap();
        assert!(hash.starts_with("$2"), "bcrypt hash expected, got {hash}");
        let res = app
            .client
            .get(app.admin(&format!("/admin/identities/{id}?include_credential=bogus")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
);

both_backends!(errors_have_kratos_shape, |app: TestApp| async move {
    app.create_identity("dup@example.com", None).await;
    // Duplicate identifier (case-insensitively) -> 409.
    let res = app
        .client
        .post(app.admin("/admin/identities"))
        .json(&json!({"schema_id": "default", "traits": {"email": "DUP@example.com"},
                      "credentials": {"password": {"config": {"password": "another long password"}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 409);
    assert_eq!(body["error"]["status"], "Conflict");
    assert_eq!(
        body["error"]["reason"],
        "This identity conflicts with another identity that already exists."
    );

    // Schema violation names the field.
    let res = app
        .client
        .post(app.admin("/admin/identities"))
        .json(&json!({"schema_id": "default", "traits": {"email": "not-an-email"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("/traits/email"),
        "{body}"
    );

    // Unknown field, malformed JSON, wrong type, unknown schema.
    for bad in [
        r#"{"schema_id":"default","traits":{"email":"a@b.co"},"bogus":1}"#,
        r#"{"schema_id":"default","traits":"#,
        r#"{"schema_id":5,"traits":{}}"#,
        r#"{"schema_id":"nope","traits":{"email":"a@b.co"}}"#,
        r#"{"traits":{"email":"a@b.co"}}"#,
        r#"[]"#,
    ] {
        let res = app
            .client
            .post(app.admin("/admin/identities"))
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "body {bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], 400, "body {bad}");
        assert!(body["error"]["message"].is_string());
    }

    // Unknown and malformed ids.
    let res = app
        .client
        .get(app.admin("/admin/identities/not-a-uuid"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .client
        .get(app.admin(&format!("/admin/identities/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 404);

    // Bodies over 5 MiB.
    let huge = format!(
        r#"{{"schema_id":"default","traits":{{"email":"a@b.co","pad":"{}"}}}}"#,
        "x".repeat(6 << 20)
    );
    // The server may answer 413 before the client has sent everything, then close (broken pipe).
    // A client of its own: the connection the server closes must not be reused by later requests.
    if let Ok(res) = reqwest::Client::new()
        .post(app.admin("/admin/identities"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
    {
        assert_eq!(res.status(), 413);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], 413);
    }

    // Unknown imported hash format.
    let res = app
        .client
        .post(app.admin("/admin/identities"))
        .json(&json!({"schema_id": "default", "traits": {"email": "hash@example.com"},
                      "credentials": {"password": {"config": {"hashed_password": "$unknown$abc"}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Nothing half-written: the failed creates left exactly one identity.
    let list: Value = app
        .client
        .get(app.admin("/admin/identities"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
});

both_backends!(
    keyset_pagination_walks_every_identity_once,
    |app: TestApp| async move {
        for i in 0..7 {
            app.create_identity(&format!("page{i}@example.com"), None)
                .await;
        }
        let mut url = app.admin("/admin/identities?page_size=3");
        let mut seen = Vec::new();
        for _ in 0..10 {
            let res = app.client.get(&url).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let link = res
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_default();
            let page: Value = res.json().await.unwrap();
            seen.extend(
                page.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string()),
            );
            match link.split(',').find(|p| p.contains("rel=\"next\"")) {
                Some(next) => {
                    url = next
                        .trim()
                        .trim_start_matches('<')
                        .split('>')
                        .next()
                        .unwrap()
                        .to_string();
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 7);

        let res = app
            .client
            .get(app.admin("/admin/identities?page_size=2&page_token=garbage"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        // Legacy page mode gives X-Total-Count.
        let res = app
            .client
            .get(app.admin("/admin/identities?page=0&per_page=5"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-total-count"], "7");
        assert_eq!(
            res.json::<Value>().await.unwrap().as_array().unwrap().len(),
            5
        );

        // Filters cannot be combined.
        let res = app
            .client
            .get(app.admin(&format!(
                "/admin/identities?ids={}&credentials_identifier=x",
                uuid::Uuid::new_v4()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
);

both_backends!(update_patch_and_external_id, |app: TestApp| async move {
    let created = app
        .create_identity("carol@example.com", Some("correct horse battery staple"))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .put(app.admin(&format!("/admin/identities/{id}")))
        .json(&json!({"schema_id": "default", "state": "inactive", "traits": {"email": "carol2@example.com"},
                      "metadata_public": {"plan": "pro"}, "external_id": "ext-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["state"], "inactive");
    assert_eq!(updated["traits"]["email"], "carol2@example.com");
    assert_eq!(updated["metadata_public"]["plan"], "pro");
    assert_eq!(
        updated["credentials"]["password"]["identifiers"],
        json!(["carol2@example.com"])
    );
    assert_eq!(
        updated["verifiable_addresses"][0]["value"],
        "carol2@example.com"
    );

    let by_ext: Value = app
        .client
        .get(app.admin("/admin/identities/by/external/ext-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_ext["id"], id.as_str());
    let res = app
        .client
        .get(app.admin("/admin/identities/by/external/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // JSON Patch.
    let res = app
        .client
        .patch(app.admin(&format!("/admin/identities/{id}")))
        .json(
            &json!([{"op": "replace", "path": "/state", "value": "active"},
                      {"op": "add", "path": "/metadata_admin", "value": {"note": "x"}}]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["state"], "active");
    assert_eq!(patched["metadata_admin"]["note"], "x");
    for bad in [
        json!([{"op": "replace", "path": "/id", "value": "x"}]),
        json!([{"op": "replace", "path": "/credentials", "value": {}}]),
        json!([{"op": "replace", "path": "/state", "value": "weird"}]),
        json!([{"op": "explode", "path": "/state"}]),
        json!({"not": "a patch"}),
    ] {
        let res = app
            .client
            .patch(app.admin(&format!("/admin/identities/{id}")))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "patch {bad}");
    }

    // The old identifier is free again; the new one is taken.
    app.create_identity("carol@example.com", None).await;
    let res = app
        .client
        .post(app.admin("/admin/identities"))
        .json(&json!({"schema_id": "default", "traits": {"email": "x@example.com"}, "external_id": "ext-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
});

both_backends!(batch_create_and_delete, |app: TestApp| async move {
    let patch_id = uuid::Uuid::new_v4();
    let res = app
        .client
        .patch(app.admin("/admin/identities"))
        .json(&json!({"identities": [
            {"create": {"schema_id": "default", "traits": {"email": "b1@example.com"}}, "patch_id": patch_id},
            {"create": {"schema_id": "default", "traits": {"email": "bad"}}},
            {"create": {"schema_id": "default", "traits": {"email": "b1@example.com"}}}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let items = body["identities"].as_array().unwrap();
    assert_eq!(items[0]["action"], "create");
    assert_eq!(items[0]["patch_id"], patch_id.to_string());
    assert_eq!(items[1]["action"], "error");
    assert_eq!(items[1]["error"]["code"], 400);
    assert_eq!(items[2]["action"], "error");
    assert_eq!(items[2]["error"]["code"], 409);

    let id = items[0]["identity"].as_str().unwrap();
    let res = app
        .client
        .delete(app.admin(&format!("/admin/identities/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .delete(app.admin(&format!("/admin/identities/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
});

both_backends!(
    imported_hashes_and_credential_removal,
    |app: TestApp| async move {
        // A bcrypt hash of "password" imported as is.
        let res = app
        .client
        .post(app.admin("/admin/identities"))
        .json(&json!({"schema_id": "default", "traits": {"email": "imp@example.com"},
            "credentials": {"password": {"config": {"hashed_password": "$2a$04$jT0P3n6FUbcAa1gIY7mKZeqtLPlD9ETZmlkMQZ1AY8EXMXiOEd5O."}}}}))
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        // The only first factor cannot be removed; an absent type is 404.
        let res = app
            .client
            .delete(app.admin(&format!("/admin/identities/{id}/credentials/password")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = app
            .client
            .delete(app.admin(&format!("/admin/identities/{id}/credentials/totp")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
);

both_backends!(schemas_health_and_version, |app: TestApp| async move {
    for base in [&app.public_url, &app.admin_url] {
        let res = app
            .client
            .get(format!("{base}/health/alive"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = app
            .client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    }
    let v: Value = app
        .client
        .get(app.admin("/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["version"].is_string());
    let list: Value = app
        .client
        .get(app.public("/schemas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], "default");
    let one = app
        .client
        .get(app.public("/schemas/ZGVmYXVsdA"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    assert_eq!(
        one.headers()["cache-control"],
        "private, no-cache, no-store, must-revalidate"
    );
    let raw: Value = one.json().await.unwrap();
    assert!(raw["properties"]["traits"].is_object());
    let res = app
        .client
        .get(app.public("/schemas/unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
});

/// `GET /admin/identities?<query>`: asserts a 400 and returns the `error` object.
async fn list_error(app: &TestApp, query: &str) -> Value {
    let res = app
        .client
        .get(app.admin(&format!("/admin/identities?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "{query}");
    let body: Value = res.json().await.unwrap();
    let err = body["error"].clone();
    assert_eq!(err["code"], 400, "{query}: {body}");
    assert_eq!(err["status"], "Bad Request", "{query}: {body}");
    // Kratos's plain bad-request errors carry no id.
    assert!(err.get("id").is_none(), "{query}: {body}");
    err
}

both_backends!(list_filter_errors_match_kratos, |app: TestApp| async move {
    let id = || uuid::Uuid::new_v4().to_string();
    let cases: Vec<(String, &str)> = vec![
            (
                "ids=not-a-uuid".into(),
                "Invalid UUID value `not-a-uuid` for parameter `ids`.",
            ),
            (
                format!("ids={}&ids=", id()),
                "Invalid UUID value `` for parameter `ids`.",
            ),
            (
                "organization_id=nope".into(),
                "Invalid UUID value `nope` for parameter `organization_id`.",
            ),
            (
                "include_credential=bogus".into(),
                "Invalid value `bogus` for parameter `include_credential`.",
            ),
            // A malformed id is reported before the combination.
            (
                "ids=x&credentials_identifier=a@example.com".into(),
                "Invalid UUID value `x` for parameter `ids`.",
            ),
            // So is an unknown credential type.
            (
                format!("organization_id={}&credentials_identifier=a&include_credential=nope", id()),
                "Invalid value `nope` for parameter `include_credential`.",
            ),
            (
                "page_size=abc".into(),
                "strconv.Atoi: parsing \"abc\": invalid syntax",
            ),
            (
                "per_page=t%22en".into(),
                "strconv.Atoi: parsing \"t\\\"en\": invalid syntax",
            ),
            (
                "page_size=99999999999999999999".into(),
                "strconv.Atoi: parsing \"99999999999999999999\": value out of range",
            ),
            (
                "page=5&per_page=500".into(),
                "Legacy pagination is not supported for enumerating over 1000 items. Please switch to using page_token and page_size.",
            ),
        ];
    for (query, reason) in &cases {
        let err = list_error(&app, query).await;
        assert_eq!(err["reason"], *reason, "{query}");
    }

    let many: Vec<String> = (0..501).map(|_| format!("ids={}", id())).collect();
    let err = list_error(&app, &many.join("&")).await;
    assert_eq!(
        err["reason"],
        "The number of ids to filter must not exceed 500."
    );

    // No two of the four filters combine, in either order.
    let filters = [
        format!("ids={}", id()),
        "credentials_identifier=foo@bar.com".to_string(),
        "preview_credentials_identifier_similar=bar.com".to_string(),
        format!("organization_id={}", id()),
    ];
    for (i, a) in filters.iter().enumerate() {
        for (j, b) in filters.iter().enumerate() {
            if i == j {
                continue;
            }
            let err = list_error(&app, &format!("{a}&{b}")).await;
            assert_eq!(
                err["reason"], "You cannot combine multiple filters in this API",
                "{a}&{b}"
            );
        }
    }

    // Each filter alone, repeated, or empty is accepted.
    for query in [
        format!("ids={}&ids={}", id(), id()),
        "credentials_identifier=".to_string(),
        "credentials_identifier=a@example.com&preview_credentials_identifier_similar=".to_string(),
        format!("organization_id={}&consistency=eventual", id()),
        "consistency=whatever&page_size=".to_string(),
    ] {
        let res = app
            .client
            .get(app.admin(&format!("/admin/identities?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{query}");
        assert_eq!(res.json::<Value>().await.unwrap(), json!([]), "{query}");
    }
});
