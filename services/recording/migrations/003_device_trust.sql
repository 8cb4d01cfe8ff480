-- When a device was revoked (the time of the ots.device.enrolled that revoked it): a capture is
-- judged by its signed `captured_at`, so one recorded before the revocation still counts.
-- Devices revoked before this column existed stay revoked for every capture (NULL).
ALTER TABLE {schema}.devices ADD COLUMN revoked_at timestamptz;
