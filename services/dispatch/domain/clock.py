"""Local time in Jember (WIB, UTC+7): days, minutes of the day, working days."""

from datetime import date, datetime, time, timedelta

from contracts.enums import Weekday
from contracts.jember import WIB

WEEKDAYS = (
    Weekday.MON,
    Weekday.TUE,
    Weekday.WED,
    Weekday.THU,
    Weekday.FRI,
    Weekday.SAT,
    Weekday.SUN,
)


def minutes_of_day(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def weekday_of(day: date) -> Weekday:
    return WEEKDAYS[day.weekday()]


def at(day: date, minute: int) -> datetime:
    """The WIB timestamp `minute` minutes after `day`'s local midnight."""
    return datetime.combine(day, time(0), WIB) + timedelta(minutes=minute)


def local_minute(moment: datetime) -> int:
    local = moment.astimezone(WIB)
    return local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)


def local_day(moment: datetime) -> date:
    return moment.astimezone(WIB).date()


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]
