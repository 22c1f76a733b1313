-- Fixed-window counters for brute-force protection, shared by every node through the database.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    count BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
