"""`ots run`: embedded servers, provisioning, and every service as a restarted child process."""

import asyncio
import signal
import subprocess
import sys
import time
from datetime import datetime

from contracts.jember import WIB
from ots.admin import migrate_all, new_token, provision_streams
from ots.embedded_env import EmbeddedServers, child_env
from ots.registry import services
from ots_runtime.embedded import wait_for_port
from ots_runtime.settings import Settings
from services.intake.tokens import Role


def spawn(name: str, settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ots.cli", "serve", name], env=child_env(settings)
    )


def banner(settings: Settings, token: str) -> str:
    host = settings.bind_host

    def at(service: str, path: str) -> str:
        return f"http://{host}:{settings.port_of(service)}{path}"

    lines = [
        "",
        "OTS is running. Ctrl-C stops everything; data stays under "
        f"{settings.data_dir}/ for the next run.",
        f"  console           {at('intake', '/console/')} (sign in with a token below)",
        f"  intake API docs   {at('intake', '/docs')}",
        f"  today's plans     {at('dispatch', '/v1/plans')}?date={datetime.now(WIB).date()}",
        f"  recording         {at('recording', '/docs')}",
        f"  metrics           {at('metrics', '/metrics')}",
        f"  report chart      {at('metrics', '/v1/reports/services.png')}",
        f"  NATS              {settings.nats_url}",
        f"  PostgreSQL        {settings.database_url}",
        "",
        f"  demo operator token: {token}",
        "  (it opens every service's API: intake, dispatch's plans, recording's enrollments,"
        " metrics' reports; `ots tokens list|revoke`)",
        f'  try: curl -H "Authorization: Bearer {token}" {at("intake", "/v1/visits")}',
        "",
    ]
    return "\n".join(lines)


def supervise(
    children: dict[str, subprocess.Popen[bytes]], settings: Settings, stop: list[bool]
) -> None:
    while not stop:
        for name, child in list(children.items()):
            if child.poll() is not None and not stop:
                print(f"ots: {name} exited with {child.returncode}; restarting", file=sys.stderr)
                children[name] = spawn(name, settings)
        time.sleep(0.5)


async def prepare(settings: Settings) -> str:
    """Streams, schemas, and a token for the operator at the keyboard."""
    await provision_streams(settings)
    await migrate_all(settings)
    return await new_token(settings, Role.OPERATOR, "dispendukcapil", "ots run demo")


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all, then up to 15 s each to finish what they hold before SIGKILL."""
    for child in children.values():
        child.terminate()
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def run(settings: Settings, *, demo: bool = False, seed: int = 1) -> int:
    servers = EmbeddedServers(settings)
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        settings = servers.start()
        token = asyncio.run(prepare(settings))
        children = {name: spawn(name, settings) for name in services()}
        for name in children:
            wait_for_port(settings.port_of(name), timeout=60)
        print(banner(settings, token), flush=True)
        if demo:
            from ots.simulate.summary import run_simulation

            return run_simulation(settings, seed)
        supervise(children, settings, stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.append(True)
        stop_children(children)
        servers.stop()
    return 0
