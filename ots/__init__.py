"""The `ots` command: the composition root that knows every service."""
