-- The highest assurance level an identity's credentials allow (aal0, aal1, aal2) is now kept in
-- `identities.available_aal` (a column the first migration made and nothing wrote), so that a
-- session check can tell whether a second factor is due without loading credentials. Written on
-- every identity insert and update; filled here for existing rows.
UPDATE identities SET available_aal = CASE
    WHEN EXISTS (SELECT 1 FROM identity_credentials c WHERE c.identity_id = identities.id
                 AND c.type IN ('totp', 'lookup_secret')) THEN 'aal2'
    WHEN EXISTS (SELECT 1 FROM identity_credentials c WHERE c.identity_id = identities.id) THEN 'aal1'
    ELSE 'aal0'
END;
