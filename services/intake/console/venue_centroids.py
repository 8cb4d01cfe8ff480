"""Where OTS knows each kecamatan to be: the centroid of the venues requested there, from
intake's read model. Contracts hold no kecamatan coordinates; this is OTS's own data, so a
kecamatan without a request has no point."""

from dataclasses import dataclass

import asyncpg

from services.intake.visits import SCHEMA


@dataclass(frozen=True)
class Centroid:
    kecamatan_code: str
    lat: float
    lon: float
    venues: int


async def venue_centroids(pool: asyncpg.Pool) -> list[Centroid]:
    """One point per kecamatan with requests: the mean of its venues' coordinates (Jember
    spans well under a degree, so the plain mean is the centroid)."""
    rows = await pool.fetch(
        "SELECT kecamatan_code, avg((request -> 'venue' ->> 'lat')::float8) AS lat, "
        "avg((request -> 'venue' ->> 'lon')::float8) AS lon, count(*) AS venues "
        f"FROM {SCHEMA}.visits GROUP BY kecamatan_code ORDER BY kecamatan_code"
    )
    return [Centroid(r["kecamatan_code"], r["lat"], r["lon"], r["venues"]) for r in rows]
