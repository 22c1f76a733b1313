-- PostgreSQL installs triggers here that tell every node's session cache about changed sessions
-- and identities. A SQLite file is served by one process, which invalidates its own cache, so
-- there is nothing to install; this file keeps the two migration histories in step.
SELECT 1;
