"""VROOM-style priorities (0–100): the class first, then the nearest deadline.

The solver maximises the priority sum before anything else, so an urgent visit is never
dropped for high or normal ones, and within a class a visit whose window ends soonest wins
when capacity is short. Fixed appointments and pinned visits outrank everything.
"""

from datetime import date

from contracts.enums import Priority
from services.dispatch.domain.model import Visit

CLASS_BASE = {Priority.URGENT: 70, Priority.HIGH: 40, Priority.NORMAL: 10}
DEADLINE_STEPS = 10
PINNED = 100


def priority_on(visit: Visit, day: date) -> int:
    if visit.is_fixed:
        return PINNED
    days_left = max(0, (visit.latest - day).days)
    deadline_bonus = 2 * max(0, DEADLINE_STEPS - days_left)
    return min(PINNED - 1, CLASS_BASE[visit.priority] + deadline_bonus)
