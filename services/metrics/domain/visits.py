"""What is known of one visit, merged the same whatever order its events arrive in."""

from dataclasses import dataclass, replace
from datetime import datetime

from contracts.enums import VisitStatus


@dataclass(frozen=True, order=True)
class Decision:
    """A plan decision; a higher revision (then a later event) supersedes."""

    revision: int
    at: datetime
    status: VisitStatus


@dataclass(frozen=True)
class VisitFacts:
    priority: str | None = None
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    completed_where: tuple[str, str] | None = None  # venue type, kecamatan code
    cancelled: bool = False
    decision: Decision | None = None
    completion_observed: bool = False

    @property
    def status(self) -> VisitStatus:
        if self.completed_at is not None:
            return VisitStatus.COMPLETED
        if self.cancelled:
            return VisitStatus.CANCELLED
        return self.decision.status if self.decision else VisitStatus.REQUESTED

    @property
    def waited_seconds(self) -> float | None:
        """Request to completion, once both are known."""
        if self.requested_at is None or self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.requested_at).total_seconds())


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a and b else a or b


def merge(a: VisitFacts, b: VisitFacts) -> VisitFacts:
    """Commutative and associative, so a batch can be folded in any order."""
    decisions = [d for d in (a.decision, b.decision) if d is not None]
    return VisitFacts(
        priority=a.priority or b.priority,
        requested_at=_earliest(a.requested_at, b.requested_at),
        completed_at=_earliest(a.completed_at, b.completed_at),
        completed_where=a.completed_where or b.completed_where,
        cancelled=a.cancelled or b.cancelled,
        decision=max(decisions) if decisions else None,
        completion_observed=a.completion_observed or b.completion_observed,
    )


@dataclass(frozen=True)
class Settled:
    state: VisitFacts
    newly_completed: tuple[str, str] | None  # where, when the visit is completed for the first time
    waited: tuple[str, float] | None  # priority and seconds, to observe once


def settle(stored: VisitFacts, incoming: VisitFacts) -> Settled:
    merged = merge(stored, incoming)
    newly_completed = None
    if stored.completed_at is None and merged.completed_at is not None:
        newly_completed = merged.completed_where
    waited = merged.waited_seconds
    if waited is None or merged.completion_observed or merged.priority is None:
        return Settled(merged, newly_completed, None)
    observed = replace(merged, completion_observed=True)
    return Settled(observed, newly_completed, (merged.priority, waited))
