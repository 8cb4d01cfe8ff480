"""Urgent first, as a rule: the class decides, the nearest deadline only orders a class.

VROOM maximises the *sum* of job priorities (each 0–100) before anything else, so weights
alone (urgent 70, high 40, normal 10) let a few high or normal visits outweigh an urgent one.
The planner therefore solves a day class by class (`domain/ranking.py`); inside a class a
visit's priority is only its deadline weight (1–21: the window closing soonest first).
Fixed appointments and pinned visits outrank everything (`PINNED`).
"""

from datetime import date

from contracts.enums import Priority
from services.dispatch.domain.model import Visit

RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
DEADLINE_STEPS = 10
PINNED = 100  # VROOM's highest job priority
# What planning used before classes were solved one by one: kept to measure against.
CLASS_BASE = {Priority.URGENT: 70, Priority.HIGH: 40, Priority.NORMAL: 10}


def rank_of(visit: Visit) -> int:
    return RANK[visit.priority]


def deadline_weight(visit: Visit, day: date) -> int:
    """1 for a window ending in ten days or more, up to 21 for one ending today."""
    days_left = max(0, (visit.latest - day).days)
    return 1 + 2 * max(0, DEADLINE_STEPS - days_left)


def pressing_first(visit: Visit) -> tuple[int, date, str]:
    """The order candidates are chosen in: class, then the window closing soonest."""
    return (rank_of(visit), visit.latest, visit.visit_id)


def weighted_priority(visit: Visit, day: date) -> int:
    """The former weights (class base plus up to 20 as the window's end nears)."""
    if visit.is_fixed:
        return PINNED
    return min(PINNED - 1, CLASS_BASE[visit.priority] + deadline_weight(visit, day) - 1)
