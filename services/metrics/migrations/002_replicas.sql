-- Two replicas share the aggregates consumer.
--
-- A batch first inserts an empty row for each of its visits, then locks them all, so a
-- replica that sees a visit second waits for the first and merges on top of its facts (a
-- lock on a row that does not exist yet protects nothing). An empty row is written over in
-- the same transaction; its NULL status keeps it out of every open-visits count even so.
ALTER TABLE {schema}.visits ALTER COLUMN status DROP NOT NULL;

-- The version of the ots.team.updated kept: the highest wins, whatever the arrival order.
-- Unversioned events carry 0, and fall back on the event time as before.
ALTER TABLE {schema}.team_shifts ADD COLUMN version bigint NOT NULL DEFAULT 0;
