-- Unassigned is a plan decision, not an end: like `team_id` it is set and undone by the newest
-- plan revision (a later ots.visit.scheduled schedules the visit again). `done` is for cancelled
-- and completed visits only.
ALTER TABLE {schema}.worklist_visits ADD COLUMN unassigned boolean NOT NULL DEFAULT false;
-- The time of the ots.device.enrolled applied: an older one redelivered later (say, an enrolment
-- after the revocation) changes nothing. NULL: stored before this column, any event applies.
ALTER TABLE {schema}.worklist_devices ADD COLUMN enrolled_at timestamptz;

-- Repair what 006 stored, from recording's own projections of the same events, guarded all along
-- (events.py): visits marked done only for being unassigned take their newest plan decision
-- back; devices take their newest enrolment (an un-revoked device is revoked again).
UPDATE {schema}.worklist_visits w
    SET done = false, team_id = v.team_id, plan_revision = v.plan_revision,
        unassigned = v.unassigned
    FROM {schema}.visits v
    WHERE v.visit_id = w.visit_id AND w.done AND v.plan_revision >= 0 AND NOT v.cancelled
        AND v.closed_at IS NULL AND v.completed_at IS NULL;
UPDATE {schema}.worklist_devices w
    SET team_id = d.team_id, revoked = d.revoked, enrolled_at = d.enrolled_at
    FROM {schema}.devices d
    WHERE d.device_id = w.device_id;
-- Every worklist is written again with what the repair changed.
INSERT INTO {schema}.device_views AS v (device_id, bucket)
    SELECT device_id, 'worklist' FROM {schema}.worklist_devices
    ON CONFLICT (device_id, bucket) DO UPDATE SET version = v.version + 1;
