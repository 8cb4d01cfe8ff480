"""Where `ots run` keeps the embedded servers, so other `ots` commands find them."""

import os
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from ots_runtime.settings import Settings

RUNTIME_ENV = "runtime.env"


class _Explicit(BaseSettings):
    """What the environment (or `.env`) says itself, before any default is applied."""

    model_config = SettingsConfigDict(env_prefix="OTS_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] | None = None
    data_dir: str = ".ots"


def local_settings(command: str) -> Settings:
    """Settings for an `ots` command: production unless OTS_ENV says otherwise, except that
    `ots run`/`ots demo` run a development system of their own, and the commands run beside
    it (tokens, simulate, migrate, ...) join it, read from its runtime.env."""
    explicit = _Explicit()
    if explicit.env is not None:
        return Settings()
    if command in ("run", "demo"):
        return Settings(env="development")
    values = _read_runtime_env(Path(explicit.data_dir) / RUNTIME_ENV)
    if values.get("OTS_ENV") == "development":
        return Settings(env="development")
    return Settings()


def _read_runtime_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def runtime_env_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / RUNTIME_ENV


def load_runtime_env(settings: Settings) -> Settings:
    """Fill unset URLs from a running `ots run`'s embedded servers."""
    path = runtime_env_file(settings)
    if (settings.nats_url and settings.database_url) or not path.exists():
        return settings
    values = _read_runtime_env(path)
    return settings.model_copy(
        update={
            "nats_url": settings.nats_url or values.get("OTS_NATS_URL"),
            "database_url": settings.database_url or values.get("OTS_DATABASE_URL"),
        }
    )


class EmbeddedServers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.nats: EmbeddedNats | None = None
        self.postgres: EmbeddedPostgres | None = None

    def start(self) -> Settings:
        data = Path(self.settings.data_dir).resolve()
        updates: dict[str, str] = {}
        if not self.settings.nats_url:
            self.nats = EmbeddedNats(data / "nats", port=self.settings.embedded_nats_port).start()
            updates["nats_url"] = self.nats.url
        if not self.settings.database_url:
            self.postgres = EmbeddedPostgres(
                data / "postgres" / "data", port=self.settings.embedded_postgres_port
            ).start()
            updates["database_url"] = self.postgres.url
        settings = self.settings.model_copy(update=updates)
        runtime_env_file(settings).write_text(
            f"OTS_ENV={settings.env}\nOTS_NATS_URL={settings.nats_url}\n"
            f"OTS_DATABASE_URL={settings.database_url}\n"
        )
        return settings

    def stop(self) -> None:
        runtime_env_file(self.settings).unlink(missing_ok=True)
        for server in (self.postgres, self.nats):
            if server is not None:
                server.stop()


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["OTS_ENV"] = settings.env
    env["OTS_NATS_URL"] = settings.nats_url or ""
    env["OTS_DATABASE_URL"] = settings.database_url or ""
    env["OTS_DATA_DIR"] = settings.data_dir  # where the development token key is kept
    return env
