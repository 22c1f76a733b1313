//! Metadata, schemas and the identity API through the SDK.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Metadata and schemas.

both_backends!(sdk_metadata_and_schemas, |app: TestApp| async move {
    let (public, admin) = (public(&app), admin(&app));
    for cfg in [&public, &admin] {
        let alive = ok("isAlive", metadata_api::is_alive(cfg).await);
        assert_eq!(alive.status, "ok");
        let ready = ok("isReady", metadata_api::is_ready(cfg).await);
        assert_eq!(ready.status, "ok");
    }
    let version = ok("getVersion", metadata_api::get_version(&admin).await);
    assert!(!version.version.is_empty());
    // `/version` is an admin route only.
    let (status, _) = err(
        "getVersion (public)",
        metadata_api::get_version(&public).await,
    );
    assert_eq!(status, 404);

    for cfg in [&public, &admin] {
        let list = ok(
            "listIdentitySchemas",
            identity_api::list_identity_schemas(cfg, None, None, None, None).await,
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, "default");
        assert!(list[0].schema["properties"]["traits"].is_object());
        let paged = ok(
            "listIdentitySchemas (page_size)",
            identity_api::list_identity_schemas(cfg, None, None, Some(10), None).await,
        );
        assert_eq!(paged, list);

        let by_id = ok(
            "getIdentitySchema",
            identity_api::get_identity_schema(cfg, "default").await,
        );
        assert_eq!(by_id, list[0].schema);
        let by_b64 = ok(
            "getIdentitySchema (base64url id)",
            identity_api::get_identity_schema(cfg, "ZGVmYXVsdA").await,
        );
        assert_eq!(by_b64, by_id);
        let (status, _) = generic(
            "getIdentitySchema (unknown)",
            identity_api::get_identity_schema(cfg, "unknown").await,
        );
        assert_eq!(status, 404);
    }
});

// ---------------------------------------------------------------------------------------------
// The identity API.

both_backends!(sdk_identity_crud, |app: TestApp| async move {
    let admin = admin(&app);
    let mut body = create_body("Alice@Example.com", Some(PASSWORD));
    body.metadata_public = Some(Some(json!({"plan": "free"})));
    body.metadata_admin = Some(Some(json!({"crm": 7})));
    body.external_id = Some("ext:alice@1".into());
    let alice = ok(
        "createIdentity",
        identity_api::create_identity(&admin, Some(body)).await,
    );
    assert_eq!(alice.schema_id, "default");
    assert!(
        alice.schema_url.starts_with(&app.public_url)
            && alice.schema_url.ends_with("/schemas/ZGVmYXVsdA"),
        "{}",
        alice.schema_url
    );
    assert_eq!(alice.state, Some(models::identity::StateEnum::Active));
    assert_eq!(alice.traits, Some(json!({"email": "Alice@Example.com"})));
    assert_eq!(alice.external_id.as_deref(), Some("ext:alice@1"));
    assert_eq!(alice.metadata_public, Some(Some(json!({"plan": "free"}))));
    assert_eq!(alice.metadata_admin, Some(Some(json!({"crm": 7}))));
    assert!(alice.created_at.is_some() && alice.updated_at.is_some());
    assert!(alice.state_changed_at.is_some());
    let pw = &alice
        .credentials
        .as_ref()
        .expect("admin view has credentials")["password"];
    assert_eq!(
        pw.r#type,
        Some(models::identity_credentials::TypeEnum::Password)
    );
    assert_eq!(pw.identifiers, Some(vec!["alice@example.com".to_string()]));
    assert_eq!(pw.config, None, "config hidden unless included");
    let va = &alice.verifiable_addresses.as_ref().unwrap()[0];
    assert_eq!(va.value, "alice@example.com");
    assert_eq!(va.status, "pending");
    assert!(!va.verified);
    assert_eq!(va.via, models::verifiable_identity_address::ViaEnum::Email);
    let ra = &alice.recovery_addresses.as_ref().unwrap()[0];
    assert_eq!(
        (ra.value.as_str(), ra.via.as_str()),
        ("alice@example.com", "email")
    );

    // Conflicts and validation errors arrive as the SDK's error envelope.
    let (status, e) = generic(
        "createIdentity (duplicate)",
        identity_api::create_identity(&admin, Some(create_body("ALICE@example.com", None))).await,
    );
    assert_eq!(status, 409);
    assert_eq!(
        e.reason.as_deref(),
        Some("This identity conflicts with another identity that already exists.")
    );
    let (status, _) = generic(
        "createIdentity (invalid trait)",
        identity_api::create_identity(&admin, Some(create_body("not-an-email", None))).await,
    );
    assert_eq!(status, 400);
    let bob = create(&admin, "bob@example.com", None).await;
    assert!(bob.credentials.as_ref().is_none_or(|c| c.is_empty()));

    // getIdentity, with and without the password config.
    let got = ok(
        "getIdentity",
        identity_api::get_identity(&admin, &alice.id, None).await,
    );
    assert_eq!(got, alice);
    let with = ok(
        "getIdentity (include_credential)",
        identity_api::get_identity(&admin, &alice.id, Some(vec!["password".into()])).await,
    );
    let hash = with.credentials.unwrap()["password"]
        .config
        .clone()
        .unwrap()["hashed_password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hash.starts_with("$2"), "bcrypt hash, got {hash}");
    let (status, _) = generic(
        "getIdentity (unknown)",
        identity_api::get_identity(&admin, &uuid::Uuid::new_v4().to_string(), None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "getIdentity (bad include_credential)",
        identity_api::get_identity(&admin, &alice.id, Some(vec!["bogus".into()])).await,
    );
    assert_eq!(status, 400);

    // listIdentities: everything, each filter, include_credential, pagination.
    let list = |per_page,
                page_size,
                page_token: Option<String>,
                ids,
                ident: Option<&'static str>,
                similar: Option<&'static str>,
                include| {
        let admin = admin.clone();
        async move {
            identity_api::list_identities(
                &admin,
                per_page,
                None,
                page_size,
                page_token.as_deref(),
                None,
                ids,
                ident,
                similar,
                include,
                None,
            )
            .await
        }
    };
    let all = ok(
        "listIdentities",
        list(None, None, None, None, None, None, None).await,
    );
    assert_eq!(
        sorted(all.iter().map(|i| i.id.clone()).collect()),
        sorted(vec![alice.id.clone(), bob.id.clone()])
    );
    assert!(all.iter().all(|i| i.metadata_admin.is_some()));
    let found = ok(
        "listIdentities (credentials_identifier)",
        list(
            None,
            None,
            None,
            None,
            Some("ALICE@example.com"),
            None,
            None,
        )
        .await,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, alice.id);
    let similar = ok(
        "listIdentities (preview_credentials_identifier_similar)",
        list(None, None, None, None, None, Some("ali"), None).await,
    );
    assert_eq!(
        similar.iter().map(|i| &i.id).collect::<Vec<_>>(),
        [&alice.id]
    );
    let by_ids = ok(
        "listIdentities (ids)",
        list(
            None,
            None,
            None,
            Some(vec![bob.id.clone()]),
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(by_ids.iter().map(|i| &i.id).collect::<Vec<_>>(), [&bob.id]);
    let included = ok(
        "listIdentities (include_credential)",
        list(
            None,
            None,
            None,
            Some(vec![alice.id.clone()]),
            None,
            None,
            Some(vec!["password".into()]),
        )
        .await,
    );
    assert!(included[0].credentials.as_ref().unwrap()["password"]
        .config
        .is_some());
    let (status, e) = generic(
        "listIdentities (two filters)",
        list(
            None,
            None,
            None,
            Some(vec![bob.id.clone()]),
            Some("bob@example.com"),
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 400);
    assert!(
        e.reason
            .as_deref()
            .unwrap_or(&e.message)
            .contains("cannot combine"),
        "{e:?}"
    );
    let strong = ok(
        "listIdentities (consistency=strong)",
        identity_api::list_identities(
            &admin,
            None,
            None,
            None,
            None,
            Some("strong"),
            None,
            None,
            None,
            None,
            None,
        )
        .await,
    );
    assert_eq!(strong.len(), 2);
    let first = ok(
        "listIdentities (page_size=1)",
        list(None, Some(1), None, None, None, None, None).await,
    );
    assert_eq!(first.len(), 1);
    let token = next_page_token(&app.admin("/admin/identities?page_size=1"), None)
        .await
        .expect("a next page");
    let second = ok(
        "listIdentities (page_token)",
        list(None, Some(1), Some(token), None, None, None, None).await,
    );
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, first[0].id);
    let per_page = ok(
        "listIdentities (per_page)",
        list(Some(1), None, None, None, None, None, None).await,
    );
    assert_eq!(per_page.len(), 1);

    // updateIdentity (PUT) and getIdentityByExternalId.
    let mut update = models::UpdateIdentityBody::new(
        "default".into(),
        models::update_identity_body::StateEnum::Inactive,
        json!({"email": "alice2@example.com"}),
    );
    update.metadata_public = Some(Some(json!({"plan": "pro"})));
    update.external_id = Some("ext:alice@2".into());
    let updated = ok(
        "updateIdentity",
        identity_api::update_identity(&admin, &alice.id, Some(update)).await,
    );
    assert_eq!(updated.state, Some(models::identity::StateEnum::Inactive));
    assert_eq!(updated.traits, Some(json!({"email": "alice2@example.com"})));
    assert_eq!(updated.metadata_public, Some(Some(json!({"plan": "pro"}))));
    assert_eq!(
        updated.credentials.as_ref().unwrap()["password"].identifiers,
        Some(vec!["alice2@example.com".to_string()])
    );
    let by_ext = ok(
        "getIdentityByExternalId",
        identity_api::get_identity_by_external_id(&admin, "ext:alice@2", None).await,
    );
    assert_eq!(by_ext.id, alice.id);
    let by_ext = ok(
        "getIdentityByExternalId (include_credential)",
        identity_api::get_identity_by_external_id(
            &admin,
            "ext:alice@2",
            Some(vec!["password".into()]),
        )
        .await,
    );
    assert!(by_ext.credentials.unwrap()["password"].config.is_some());
    for gone in ["ext:alice@1", "nobody"] {
        let (status, _) = generic(
            "getIdentityByExternalId (unknown)",
            identity_api::get_identity_by_external_id(&admin, gone, None).await,
        );
        assert_eq!(status, 404, "{gone}");
    }
    let (status, _) = generic(
        "updateIdentity (unknown)",
        identity_api::update_identity(
            &admin,
            &uuid::Uuid::new_v4().to_string(),
            Some(models::UpdateIdentityBody::new(
                "default".into(),
                models::update_identity_body::StateEnum::Active,
                json!({"email": "x@example.com"}),
            )),
        )
        .await,
    );
    assert_eq!(status, 404);

    // patchIdentity (JSON Patch).
    let patch = |op: &str, path: &str, value: Option<Value>| models::JsonPatch {
        op: op.into(),
        path: path.into(),
        value: value.map(Some),
        from: None,
    };
    let patched = ok(
        "patchIdentity",
        identity_api::patch_identity(
            &admin,
            &alice.id,
            Some(vec![
                patch("replace", "/state", Some(json!("active"))),
                patch("add", "/metadata_admin", Some(json!({"note": "x"}))),
                patch("remove", "/metadata_public", None),
            ]),
        )
        .await,
    );
    assert_eq!(patched.state, Some(models::identity::StateEnum::Active));
    assert_eq!(patched.metadata_admin, Some(Some(json!({"note": "x"}))));
    assert!(
        matches!(patched.metadata_public, None | Some(None)),
        "{:?}",
        patched.metadata_public
    );
    let (status, _) = generic(
        "patchIdentity (/id)",
        identity_api::patch_identity(
            &admin,
            &alice.id,
            Some(vec![patch("replace", "/id", Some(json!("x")))]),
        )
        .await,
    );
    assert_eq!(status, 400);

    // batchPatchIdentities: per-item results.
    let patch_id = uuid::Uuid::new_v4().to_string();
    let items = vec![
        models::IdentityPatch {
            create: Some(Box::new(create_body("carol@example.com", Some(PASSWORD)))),
            patch_id: Some(patch_id.clone()),
        },
        models::IdentityPatch {
            create: Some(Box::new(create_body("bad", None))),
            patch_id: None,
        },
        models::IdentityPatch {
            create: Some(Box::new(create_body("bob@example.com", None))),
            patch_id: None,
        },
    ];
    let res = ok(
        "batchPatchIdentities",
        identity_api::batch_patch_identities(
            &admin,
            Some(models::PatchIdentitiesBody {
                identities: Some(items),
            }),
        )
        .await,
    );
    use models::identity_patch_response::ActionEnum;
    let res = res.identities.expect("identities");
    assert_eq!(res.len(), 3);
    assert_eq!(res[0].action, Some(ActionEnum::Create));
    assert_eq!(res[0].patch_id.as_deref(), Some(patch_id.as_str()));
    let carol = res[0].identity.clone().expect("created identity id");
    assert_eq!(res[1].action, Some(ActionEnum::Error));
    assert_eq!(res[1].error.clone().flatten().unwrap()["code"], 400);
    assert_eq!(res[2].action, Some(ActionEnum::Error));
    assert_eq!(res[2].error.clone().flatten().unwrap()["code"], 409);
    let carol = ok(
        "getIdentity (batch)",
        identity_api::get_identity(&admin, &carol, None).await,
    );
    assert_eq!(carol.traits, Some(json!({"email": "carol@example.com"})));
    // The batch-imported password works for a native login through the SDK.
    let session = login(&app, &public(&app), "carol@example.com", PASSWORD)
        .await
        .session;
    assert_eq!(session.identity.unwrap().id, carol.id);

    // deleteIdentityCredentials: the last first factor stays; absent and unknown types fail.
    let (status, e) = generic(
        "deleteIdentityCredentials (last first factor)",
        identity_api::delete_identity_credentials(&admin, &carol.id, "password", None).await,
    );
    assert_eq!(status, 400);
    assert!(
        format!("{e:?}").contains("You cannot remove the last first factor credential."),
        "{e:?}"
    );
    let (status, _) = generic(
        "deleteIdentityCredentials (not set up)",
        identity_api::delete_identity_credentials(&admin, &carol.id, "totp", None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentityCredentials (unknown type)",
        identity_api::delete_identity_credentials(&admin, &carol.id, "bogus", None).await,
    );
    assert_eq!(status, 400);
    let (status, _) = generic(
        "deleteIdentityCredentials (unknown identity)",
        identity_api::delete_identity_credentials(
            &admin,
            &uuid::Uuid::new_v4().to_string(),
            "totp",
            None,
        )
        .await,
    );
    assert_eq!(status, 404);

    // deleteIdentity: 204, then 404 for get and for a second delete.
    ok(
        "deleteIdentity",
        identity_api::delete_identity(&admin, &bob.id).await,
    );
    let (status, _) = generic(
        "getIdentity (deleted)",
        identity_api::get_identity(&admin, &bob.id, None).await,
    );
    assert_eq!(status, 404);
    let (status, _) = generic(
        "deleteIdentity (again)",
        identity_api::delete_identity(&admin, &bob.id).await,
    );
    assert_eq!(status, 404);
    let left = ok(
        "listIdentities",
        list(None, None, None, None, None, None, None).await,
    );
    assert_eq!(
        sorted(left.into_iter().map(|i| i.id).collect()),
        sorted(vec![alice.id.clone(), carol.id.clone()])
    );
});
