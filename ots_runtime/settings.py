"""Settings from the environment (`OTS_` prefix), built once at start-up."""

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.streams import ALL_STREAMS

# A processed message whose ack was lost comes back within max_deliver x ack_wait (5 x 30 s
# plus nak back-offs of at most 30 s: minutes). A day bounds that generously for every
# consumer without restating each ConsumerSpec here; an outage between commit and ack
# stretches it by the outage, which is what the week of the default is for.
REDELIVERY_BOUND_HOURS = 24.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTS_", env_file=".env", extra="ignore")

    # Fail closed: nothing set means production. Development defaults (embedded servers,
    # a token key pair in data_dir) are for `OTS_ENV=development` only, which `ots run`/`ots
    # demo` set for their embedded system; `test` is explicit too, but brings its own secrets
    # like production. A service's own secrets are in its own settings (services/intake/config.py, ...).
    env: Literal["development", "test", "production"] = "production"
    nats_url: str | None = None
    nats_user: str | None = None
    nats_password: str | None = None
    database_url: str | None = None
    log_level: str = "INFO"
    intake_port: int = 8080
    dispatch_port: int = 8081
    recording_port: int = 8082
    metrics_port: int = 8083
    bind_host: str = "127.0.0.1"
    # Where intake's console reads dispatch's plans and metrics' reports, where they run
    # apart (containers, Kubernetes); unset, on bind_host at their ports, as `ots run` starts them.
    dispatch_url: str | None = None
    metrics_url: str | None = None
    # API tokens (ots_runtime/auth.py): `kid:<base64 Ed25519 public key>[,...]` on every
    # service; `kid:<base64 private seed>` where tokens are issued (`ots tokens create`).
    # Unset, development keeps a key pair in data_dir; test and production refuse to start.
    token_public_keys: str | None = None
    token_signing_key: str | None = Field(default=None, repr=False)
    # At most two years: revocations live on OTS_EVENTS (three years), longer than any token.
    token_ttl_days: int = Field(default=90, ge=1, le=730)
    token_revocation_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Dead letters (ots_runtime/dead_letter.py): services seal a masked original to the
    # public key, `kid:<base64 X25519 key>`; unset, such letters cannot be replayed. The
    # private key(s) only where an administrator runs `ots dlq replay`/`show --original`.
    dlq_public_key: str | None = None
    dlq_private_key: str | None = Field(default=None, repr=False)
    embedded_nats_port: int = 14222
    embedded_postgres_port: int = 15432
    data_dir: str = ".ots"
    inbox_retention_hours: float = 7 * 24

    @model_validator(mode="after")
    def _keep_repeat_guards_longer_than_repeats_arrive(self) -> Self:
        duplicate_window = max(s.duplicate_window_seconds for s in ALL_STREAMS) / 3600
        floor = max(duplicate_window, REDELIVERY_BOUND_HOURS)
        if self.inbox_retention_hours <= floor:
            raise ValueError(
                f"OTS_INBOX_RETENTION_HOURS must be longer than {floor:g} h (the streams' "
                f"duplicate window is {duplicate_window:g} h, redeliveries are bounded by "
                f"{REDELIVERY_BOUND_HOURS:g} h): a repeat arriving later would be applied twice"
            )
        return self

    @model_validator(mode="after")
    def _require_the_servers_in_production(self) -> Self:
        if self.env == "production" and not (self.nats_url and self.database_url):
            raise ValueError("OTS_NATS_URL and OTS_DATABASE_URL are required in production")
        return self

    def port_of(self, service: str) -> int:
        port: int = getattr(self, f"{service}_port")
        return port

    def require_urls(self) -> tuple[str, str]:
        if not self.nats_url or not self.database_url:
            raise RuntimeError("OTS_NATS_URL and OTS_DATABASE_URL must be set (ots run sets both)")
        return self.nats_url, self.database_url
