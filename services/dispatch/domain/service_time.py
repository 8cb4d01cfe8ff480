"""How long a team stays at a visit: grows with the people served and the venue.

- home: `home_minutes_per_person` for each person (bedridden, elderly: ~30 min each);
- batch venues (school, pesantren, lapas, panti asuhan, village office):
  `batch_setup_minutes` to set up the kit, then `batch_minutes_per_person` each;
- fixed appointments (Car Free Day, community events): their `duration_minutes`;
- each service beyond the first adds `extra_service_fraction` of the per-person time.
"""

from dataclasses import dataclass

from contracts.enums import VenueType
from services.dispatch.domain.model import Visit

BATCH_VENUES = frozenset(
    {
        VenueType.SCHOOL,
        VenueType.PESANTREN,
        VenueType.LAPAS,
        VenueType.PANTI_ASUHAN,
        VenueType.VILLAGE_OFFICE,
    }
)


@dataclass(frozen=True)
class ServiceTimeModel:
    home_minutes_per_person: int = 30
    batch_setup_minutes: int = 30
    batch_minutes_per_person: int = 7
    extra_service_fraction: float = 0.25
    fixed_default_minutes: int = 240

    def minutes(self, visit: Visit) -> int:
        if visit.is_fixed:
            return visit.duration_minutes or self.fixed_default_minutes
        extra = 1 + self.extra_service_fraction * (len(visit.services) - 1)
        if visit.venue_type in BATCH_VENUES:
            per_person = self.batch_minutes_per_person * extra
            return round(self.batch_setup_minutes + per_person * visit.people)
        return round(self.home_minutes_per_person * extra * visit.people)
