"""How the events that come back move a visit's status, whatever order they arrive in."""

from dataclasses import dataclass

from contracts.enums import VisitStatus

TERMINAL = frozenset({VisitStatus.COMPLETED, VisitStatus.CANCELLED})
OPEN = frozenset({VisitStatus.REQUESTED, VisitStatus.SCHEDULED, VisitStatus.UNASSIGNED})


@dataclass(frozen=True)
class VisitState:
    status: VisitStatus
    plan_revision: int


def after_plan_decision(state: VisitState, decided: VisitStatus, revision: int) -> VisitState:
    """A `scheduled` or `unassigned` decision counts only if it is not older than the last."""
    if state.status in TERMINAL or revision < state.plan_revision:
        return state
    return VisitState(decided, revision)


def after_completion(state: VisitState) -> VisitState:
    """The team was there: completion is final, even over a cancellation that crossed it."""
    return VisitState(VisitStatus.COMPLETED, state.plan_revision)


def can_cancel(state: VisitState) -> bool:
    return state.status in OPEN
