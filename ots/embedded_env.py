"""Where `ots run` keeps the embedded servers, so other `ots` commands find them."""

import os
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from ots_runtime.sealing import PrivateKey, private_keys, public_text
from ots_runtime.settings import Settings

RUNTIME_ENV = "runtime.env"
DEVELOPMENT_DLQ_KEY_FILE = "dlq-private-key"


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
    """Fill unset URLs (and DLQ keys) from a running `ots run`'s embedded servers."""
    path = runtime_env_file(settings)
    if (settings.nats_url and settings.database_url) or not path.exists():
        return settings
    values = _read_runtime_env(path)
    return settings.model_copy(
        update={
            "nats_url": settings.nats_url or values.get("OTS_NATS_URL"),
            "database_url": settings.database_url or values.get("OTS_DATABASE_URL"),
            "dlq_public_key": settings.dlq_public_key or values.get("OTS_DLQ_PUBLIC_KEY"),
            "dlq_private_key": settings.dlq_private_key or values.get("OTS_DLQ_PRIVATE_KEY"),
        }
    )


def development_dlq_key(data_dir: Path) -> PrivateKey:
    """The DLQ key pair of `ots run`, made once and kept with the data (owner-only), like the
    token signing key: its letters stay replayable across restarts."""
    path = data_dir / DEVELOPMENT_DLQ_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(PrivateKey.generate(f"dev-dlq-{os.urandom(4).hex()}").text())
    [key] = private_keys(path.read_text(), str(path)).values()
    return key


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
        dlq_keys = ""
        if not self.settings.dlq_public_key:
            dlq_key = development_dlq_key(data)
            updates["dlq_public_key"] = public_text(dlq_key.public)
            dlq_keys = (
                f"OTS_DLQ_PUBLIC_KEY={updates['dlq_public_key']}\n"
                f"OTS_DLQ_PRIVATE_KEY={dlq_key.text()}\n"
            )
        settings = self.settings.model_copy(update=updates)
        path = runtime_env_file(settings)
        path.unlink(missing_ok=True)  # written afresh owner-only: it may hold the DLQ key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(
                f"OTS_ENV={settings.env}\nOTS_NATS_URL={settings.nats_url}\n"
                f"OTS_DATABASE_URL={settings.database_url}\n{dlq_keys}"
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
    env.pop("OTS_DLQ_PRIVATE_KEY", None)  # services seal dead letters; only administrators open
    if settings.dlq_public_key:
        env["OTS_DLQ_PUBLIC_KEY"] = settings.dlq_public_key
    return env
