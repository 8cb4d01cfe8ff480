"""The travel-time provider the settings choose: OSRM when a URL is set, else straight lines."""

from services.dispatch.adapters.haversine import HaversineProvider
from services.dispatch.adapters.osrm import OsrmProvider
from services.dispatch.domain.routing import MatrixProvider
from services.dispatch.settings import DispatchSettings


def matrix_provider(settings: DispatchSettings) -> MatrixProvider:
    if settings.osrm_url:
        return OsrmProvider(settings.osrm_url)
    return HaversineProvider(settings.dispatch_road_factor, settings.dispatch_speed_kmh)
