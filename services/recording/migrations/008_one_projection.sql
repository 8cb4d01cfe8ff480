-- One projection of the visits and devices: the worklists read team, plan revision,
-- unassignment, cancellation, completion and revocation from `visits` and `devices`, kept with
-- their guards by recording-events (events.py), the rows the gateway consumer judges captures
-- by. Of the worklist's own copy only what `visits` did not hold stays: each visit's details
-- for the tablet (venue, services, residents: ots.visit.requested), and `worklist_routes`.
ALTER TABLE {schema}.visits ADD COLUMN details jsonb;
CREATE INDEX devices_by_team ON {schema}.devices (team_id);

-- The details the worklist consumer had stored; a visit recording-events has not reached yet
-- gets its other columns when it does.
INSERT INTO {schema}.visits AS v (visit_id, details)
    SELECT visit_id, details FROM {schema}.worklist_visits WHERE details IS NOT NULL
    ON CONFLICT (visit_id) DO UPDATE SET details = excluded.details WHERE v.details IS NULL;

DROP TABLE {schema}.worklist_visits;
DROP TABLE {schema}.worklist_devices;

-- Every worklist is written again from the one projection.
INSERT INTO {schema}.device_views AS v (device_id, bucket)
    SELECT device_id, 'worklist' FROM {schema}.devices
    ON CONFLICT (device_id, bucket) DO UPDATE SET version = v.version + 1;
