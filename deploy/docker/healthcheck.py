"""The image's HEALTHCHECK: GET /healthz of the service this container serves.

The service is `OTS_SERVICE` if set, else the word after `serve` in PID 1's command line
(`ots serve intake`); its port is `OTS_<SERVICE>_PORT`, else the settings' default. A container
running a one-shot command (`ots migrate`, `ots streams`) serves nothing and counts as healthy.
"""

import os
import sys
import urllib.request
from pathlib import Path

from ots_runtime.settings import Settings


def served_service(cmdline: list[str]) -> str | None:
    if "serve" not in cmdline[:-1]:
        return None
    return cmdline[cmdline.index("serve") + 1]


def pid1_cmdline() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def port_of(service: str) -> int:
    configured = os.environ.get(f"OTS_{service.upper()}_PORT")
    if configured:
        return int(configured)
    return int(Settings.model_fields[f"{service}_port"].default)


def main() -> int:
    service = os.environ.get("OTS_SERVICE") or served_service(pid1_cmdline())
    if service is None:
        return 0
    url = f"http://127.0.0.1:{port_of(service)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{service}: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
