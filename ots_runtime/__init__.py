"""Plumbing every OTS service needs the same way: settings, logs, database, NATS, outbox, inbox."""
