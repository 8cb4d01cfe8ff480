-- The version of the team update kept: an older ots.team.updated arriving after a newer one
-- (two intake relays publish in parallel) is ignored. Unversioned events carry 0.
ALTER TABLE {schema}.teams ADD COLUMN version bigint NOT NULL DEFAULT 0;
