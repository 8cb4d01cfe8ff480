"""Straight-line travel: great-circle distance × a road factor, at a constant speed."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.dispatch.domain.model import Point
from services.dispatch.domain.routing import Matrix

EARTH_RADIUS_M = 6_371_000.0


class ArrayMatrix:
    """A travel matrix held as arrays; a point with no route is marked unroutable."""

    def __init__(
        self, seconds: NDArray[np.int64], meters: NDArray[np.int64], unroutable: frozenset[int]
    ) -> None:
        self._seconds, self._meters, self._unroutable = seconds, meters, unroutable

    def seconds(self, a: int, b: int) -> int:
        return int(self._seconds[a, b])

    def meters(self, a: int, b: int) -> int:
        return int(self._meters[a, b])

    def unroutable(self) -> frozenset[int]:
        return self._unroutable

    def durations_among(self, indices: Sequence[int]) -> Matrix:
        picked: Matrix = self._seconds[np.ix_(indices, indices)].tolist()
        return picked


def great_circle_meters(points: Sequence[Point]) -> NDArray[np.float64]:
    coords = np.radians(np.array([[p.lat, p.lon] for p in points], dtype=np.float64).reshape(-1, 2))
    lat, lon = coords[:, 0], coords[:, 1]
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    meters: NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return meters


@dataclass(frozen=True)
class HaversineProvider:
    road_factor: float = 1.4
    speed_kmh: float = 30.0

    def matrix(self, points: Sequence[Point]) -> ArrayMatrix:
        road = great_circle_meters(points) * self.road_factor
        seconds = np.ceil(road / (self.speed_kmh / 3.6)).astype(np.int64)
        return ArrayMatrix(seconds, np.rint(road).astype(np.int64), frozenset())
