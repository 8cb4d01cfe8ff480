-- The agency that requested each visit (ots.visit.requested's requester, which intake binds to
-- the requesting token's agency): an agency token reads the enrollments of its own visits only.
-- Visits stored before this are the operators' to read (NULL matches no agency).
ALTER TABLE {schema}.visits ADD COLUMN owner_agency text;
