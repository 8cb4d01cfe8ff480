"""The day's requests, venue by venue: who asks, who is listed, who turns up, what is served."""

import random
from datetime import date, timedelta

from contracts.enums import Need
from ots.simulate.places import ALUN_ALUN, near
from ots.simulate.visit_plan import VisitPlan, fixed_start, listed, request, walk_ins

Window = tuple[date, date]
HOME_CASES = (
    ("disability", (Need.WHEELCHAIR,)), ("disability", (Need.AMPUTEE,)),
    ("disability", (Need.VISUAL_IMPAIRMENT, Need.EYE_CONDITION)),
    ("elderly", (Need.CANNOT_SIGN,)), ("elderly", (Need.EYE_CONDITION,)), ("elderly", ()),
    ("bedridden", (Need.BEDRIDDEN,)), ("bedridden", (Need.BEDRIDDEN, Need.CANNOT_SIGN)),
    ("bedridden", (Need.BEDRIDDEN, Need.AMPUTEE)),
)  # fmt: skip
AGES = {"disability": (20, 60), "elderly": (66, 88), "bedridden": (40, 85)}


def car_free_day(rng: random.Random, taken: set[str], sunday: date) -> VisitPlan:
    people = walk_ins(rng, taken, ALUN_ALUN.kecamatan, sunday, 5)
    body = request("car_free_day", "Car Free Day Alun-alun Jember", ALUN_ALUN,
                   ["ktp_el_recording", "kk", "ikd_activation"], people, (sunday, sunday),
                   requester={"agency_type": "dispendukcapil", "agency_name": "Dispendukcapil"},
                   expected_people=40, fixed_start=fixed_start(sunday), duration_minutes=240)  # fmt: skip
    return VisitPlan("car-free-day", "dispendukcapil", body, tuple(people),
                     (("kk", 2), ("ikd_activation", 3)))  # fmt: skip


def schools(rng: random.Random, taken: set[str], window: Window) -> list[VisitPlan]:
    plans = []
    for i, (name, kecamatan) in enumerate((("SMAN 2 Jember", "350921"),
                                            ("SMKN 1 Jember", "350920")), start=1):  # fmt: skip
        people = listed(rng, taken, kecamatan, window[0], 5, ages=(17, 18), absent=1)
        body = request("school", name, near(rng, kecamatan), ["ktp_el_recording", "ikd_activation"],
                       people, window, expected_people=6,
                       requester={"agency_type": "school", "agency_name": name})  # fmt: skip
        plan = VisitPlan(f"school-{i}", "sekolah", body, tuple(people), (("ikd_activation", 4),))
        plans.append(plan)
    return plans


def pesantren(rng: random.Random, taken: set[str], window: Window) -> VisitPlan:
    name, kecamatan = "Pondok Pesantren Nurul Islam", "350910"
    people = listed(rng, taken, kecamatan, window[0], 5, ages=(17, 25))
    people += walk_ins(rng, taken, kecamatan, window[0], 1)
    body = request("pesantren", name, near(rng, kecamatan), ["ktp_el_recording", "kk"], people,
                   window, requester={"agency_type": "pesantren", "agency_name": name})  # fmt: skip
    return VisitPlan("pesantren", "pesantren", body, tuple(people), (("kk", 2),))


def village_office(rng: random.Random, taken: set[str], window: Window) -> VisitPlan:
    name, kecamatan = "Kantor Desa Kalisat", "350927"
    people = listed(rng, taken, kecamatan, window[0], 4, ages=(17, 70))
    people += walk_ins(rng, taken, kecamatan, window[0], 2)
    body = request("village_office", name, near(rng, kecamatan),
                   ["ktp_el_recording", "kk", "akta_kelahiran"], people, window,
                   requester={"agency_type": "desa", "agency_name": name})  # fmt: skip
    return VisitPlan("village-office", "desa", body, tuple(people),
                     (("kk", 3), ("akta_kelahiran", 1)))  # fmt: skip


def home_visits(rng: random.Random, taken: set[str], window: Window) -> list[VisitPlan]:
    kecamatan_codes = ("350919", "350920", "350921", "350912", "350927", "350910")
    plans = []
    for i, (reason, needs) in enumerate(HOME_CASES, start=1):
        kecamatan = rng.choice(kecamatan_codes)
        # the fourth household is out (in hospital): a no-show; every third has two residents
        people = listed(rng, taken, kecamatan, window[0], 2 if i % 3 == 0 else 1,
                        ages=AGES[reason], needs=needs, absent=2 if i == 4 else 0)  # fmt: skip
        services = ["ktp_el_recording", "kk"] if i % 2 == 0 else ["ktp_el_recording"]
        delivered = (("kk", 1),) if i % 2 == 0 and i != 4 else ()
        priority = "high" if reason != "elderly" else "normal"
        body = request("home", f"Rumah {people[0].name}", near(rng, kecamatan), services, people,
                       (window[0], window[0] + timedelta(days=3)), priority=priority,
                       priority_reasons=[reason],
                       requester={"agency_type": "dinsos", "agency_name": "Dinas Sosial Jember"})  # fmt: skip
        plans.append(VisitPlan(f"home-{i}", "dinsos", body, tuple(people), delivered))
    return plans
