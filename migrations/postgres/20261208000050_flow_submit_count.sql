-- Code submissions per flow, counted by one atomic UPDATE before any code is compared, so a burst
-- of parallel guesses cannot outrun the limit.
ALTER TABLE selfservice_flows ADD COLUMN submit_count BIGINT NOT NULL DEFAULT 0;
