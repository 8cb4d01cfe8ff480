-- The day a visit is planned for, from ots.visit.scheduled: a visit its tablet never closes is
-- closed at the end of that day plus OTS_RECORDING_CLOSE_AFTER_DAY_HOURS. `unassigned` is set by
-- ots.visit.unassigned: its former team's messages are refused at once, not waited on.
ALTER TABLE {schema}.visits ADD COLUMN visit_date date;
ALTER TABLE {schema}.visits ADD COLUMN unassigned boolean NOT NULL DEFAULT false;
CREATE INDEX visits_open_by_day ON {schema}.visits (visit_date)
    WHERE closed_at IS NULL AND completed_at IS NULL;
