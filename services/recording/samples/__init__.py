"""Biometric samples, sealed, in object storage: PostgreSQL keeps only their keys and hashes."""
