-- Every node's session cache hears of each change to a session or an identity row, whoever makes
-- it: these statement-level triggers notify channel `ostiary_cache` with the id of each identity
-- touched, inside the writing transaction (so exactly when the change commits; PostgreSQL folds
-- identical notifications of one transaction into one).
CREATE FUNCTION ostiary_cache_notify_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ostiary_cache', c.identity_id) FROM (SELECT DISTINCT identity_id FROM changed) AS c;
    RETURN NULL;
END
$$;

CREATE FUNCTION ostiary_cache_notify_identities() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ostiary_cache', c.id) FROM changed AS c;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_cache_update AFTER UPDATE ON sessions
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ostiary_cache_notify_sessions();
CREATE TRIGGER sessions_cache_delete AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ostiary_cache_notify_sessions();
CREATE TRIGGER identities_cache_update AFTER UPDATE ON identities
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ostiary_cache_notify_identities();
CREATE TRIGGER identities_cache_delete AFTER DELETE ON identities
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ostiary_cache_notify_identities();
