"""The planner's knobs, all with defaults that suit Jember's mobile teams."""

from dataclasses import dataclass, field
from typing import Literal

from services.dispatch.domain.service_time import ServiceTimeModel


@dataclass(frozen=True)
class PlannerConfig:
    horizon_days: int = 10
    service_time: ServiceTimeModel = field(default_factory=ServiceTimeModel)
    # Only about what a day can hold goes to the solver: it spends its time on unassignable
    # jobs otherwise (450 jobs for 30 teams took 7–40 s, 250 took 1–3 s).
    candidate_slack: float = 1.4
    assumed_travel_minutes: int = 20
    pinned_days: int = 2  # today and tomorrow keep their team and day once announced
    # How a day's priority classes are kept apart (`domain/ranking.py`): solved one class
    # after another ("classes"), in one solve with strict weights ("weights"), or with the
    # former weights urgent 70, high 40, normal 10 ("former": measured against, not a rule).
    ranking: Literal["classes", "weights", "former"] = "classes"
