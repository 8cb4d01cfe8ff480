"""A team's day drawn from OTS's own data: the team's base, each stop where its visit was
requested, the path between them, the kecamatan around them (each at the centroid of the
venues requested in it), a grid of latitude and longitude for scale, and Jember's bounds
(contracts/jember). No tiles: it works offline."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from contracts.jember import LAT_RANGE, LON_RANGE

WIDTH = 400.0
PADDING = 12.0
MARGIN_DEGREES = 0.01
"""About a kilometre around the outermost points, so no stop sits on the edge."""
GRID_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2)
JEMBER = (LAT_RANGE, LON_RANGE)


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Stop:
    order: int
    point: Point
    label: str


class Kecamatan(NamedTuple):
    """A kecamatan where OTS knows venues; `of_a_stop` when one of the route's stops is in it
    (the map is framed to show those)."""

    lat: float
    lon: float
    name: str
    of_a_stop: bool


@dataclass(frozen=True)
class Place:
    point: Point
    label: str


@dataclass(frozen=True)
class Bounds:
    """South-north and west-east; near the equator a degree of either is about 111 km, so
    equal spans draw undistorted."""

    lat: tuple[float, float]
    lon: tuple[float, float]

    @property
    def height(self) -> float:
        return round(WIDTH * (self.lat[1] - self.lat[0]) / (self.lon[1] - self.lon[0]), 1)

    def project(self, lat: float, lon: float) -> Point:
        (south, north), (west, east) = self.lat, self.lon
        x = PADDING + (lon - west) / (east - west) * (WIDTH - 2 * PADDING)
        y = PADDING + (north - lat) / (north - south) * (self.height - 2 * PADDING)
        return Point(round(x, 1), round(y, 1))

    def holds(self, lat: float, lon: float) -> bool:
        return self.lat[0] <= lat <= self.lat[1] and self.lon[0] <= lon <= self.lon[1]


def fitted(points: list[tuple[float, float]]) -> Bounds:
    """A square around the points (Jember's bounds when there are none)."""
    if not points:
        return Bounds(*JEMBER)
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    half = max(max(lats) - min(lats), max(lons) - min(lons)) / 2 + MARGIN_DEGREES
    lat, lon = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2
    return Bounds((lat - half, lat + half), (lon - half, lon + half))


@dataclass(frozen=True)
class GridLine:
    start: Point
    end: Point
    label: str


@dataclass(frozen=True)
class RouteMap:
    base: Point | None
    stops: list[Stop]
    grid: list[GridLine]
    jember: tuple[Point, Point]
    height: float
    kecamatan: list[Place]
    width: float = WIDTH

    @property
    def path(self) -> str:
        """The polyline from the base through each stop in order, and back."""
        points = [s.point for s in self.stops]
        if self.base is not None:
            points = [self.base, *points, self.base]
        return " ".join(f"{p.x},{p.y}" for p in points)


def _grid(bounds: Bounds) -> list[GridLine]:
    span = bounds.lon[1] - bounds.lon[0]
    step = next((s for s in GRID_STEPS if span / s <= 6), GRID_STEPS[-1])
    lines: list[GridLine] = []
    for index in range(int(bounds.lon[0] / step) + 1, int(bounds.lon[1] / step) + 1):
        lon = index * step
        top, bottom = bounds.project(bounds.lat[1], lon), bounds.project(bounds.lat[0], lon)
        lines.append(GridLine(top, bottom, f"{lon:.2f}°E"))
    for index in range(int(bounds.lat[0] / step), int(bounds.lat[1] / step) + 1):
        lat = index * step
        if bounds.lat[0] < lat < bounds.lat[1]:
            west, east = bounds.project(lat, bounds.lon[0]), bounds.project(lat, bounds.lon[1])
            lines.append(GridLine(west, east, f"{-lat:.2f}°S"))
    return lines


def route_map(
    base: tuple[float, float] | None,
    stops: list[tuple[float, float, str]],
    kecamatan: Sequence[Kecamatan] = (),
) -> RouteMap:
    """Framed on the base, the stops and their kecamatan; other kecamatan drawn where they
    fall inside the frame."""
    points = [(lat, lon) for lat, lon, _ in stops] + ([base] if base else [])
    bounds = fitted(points + [(k.lat, k.lon) for k in kecamatan if k.of_a_stop])
    north_west = bounds.project(LAT_RANGE[1], LON_RANGE[0])
    south_east = bounds.project(LAT_RANGE[0], LON_RANGE[1])
    return RouteMap(
        bounds.project(*base) if base else None,
        [Stop(i + 1, bounds.project(lat, lon), label) for i, (lat, lon, label) in enumerate(stops)],
        _grid(bounds),
        (north_west, south_east),
        bounds.height,
        [Place(bounds.project(k.lat, k.lon), k.name) for k in kecamatan
         if bounds.holds(k.lat, k.lon)],
    )  # fmt: skip
