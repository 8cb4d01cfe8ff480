-- Each team's update count, carried as `version` in ots.team.updated: two outbox relays may
-- publish a team's updates out of order, and consumers keep the highest version.
-- Existing teams start at 1, above the 0 that earlier, unversioned events parse as.
ALTER TABLE {schema}.teams ADD COLUMN version bigint NOT NULL DEFAULT 1;
