"""Road travel times from an OSRM server's `table` service.

`GET {url}/table/v1/driving/{lon,lat;...}?annotations=duration,distance` answers
`{"code": "Ok", "durations": [[s]], "distances": [[m]]}` with `null` where no route exists;
a point with no route to or from most others is unroutable.
"""

from collections.abc import Sequence

import httpx
import numpy as np

from services.dispatch.adapters.haversine import ArrayMatrix
from services.dispatch.domain.model import Point

UNREACHABLE = 10**7  # seconds: the solver never chooses it


class OsrmProvider:
    def __init__(self, url: str, *, profile: str = "driving", timeout: float = 30.0) -> None:
        self.url, self.profile, self.timeout = url.rstrip("/"), profile, timeout

    def matrix(self, points: Sequence[Point]) -> ArrayMatrix:
        if not points:
            return ArrayMatrix(np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64), frozenset())
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in points)
        response = httpx.get(
            f"{self.url}/table/v1/{self.profile}/{coords}",
            params={"annotations": "duration,distance"},
            timeout=self.timeout,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("code") != "Ok":
            raise RuntimeError(f"OSRM table answered {body.get('code')}: {body.get('message')}")
        return _as_matrix(body["durations"], body.get("distances") or body["durations"])


def _as_matrix(
    durations: list[list[float | None]], distances: list[list[float | None]]
) -> ArrayMatrix:
    missing = np.array([[d is None for d in row] for row in durations], dtype=bool)
    np.fill_diagonal(missing, False)
    seconds = np.array([[UNREACHABLE if d is None else d for d in r] for r in durations])
    meters = np.array([[UNREACHABLE if d is None else d for d in r] for r in distances])
    half = len(durations) - 1  # of the 2(n-1) pairs a point is in
    unroutable = {i for i in range(len(durations)) if missing[i].sum() + missing[:, i].sum() > half}
    return ArrayMatrix(np.ceil(seconds).astype(np.int64), np.rint(meters).astype(np.int64),
                       frozenset(unroutable))  # fmt: skip
