"""The console's own logic, without a browser: sessions, the request form's shaping, the NIK
check (intake's rules, not the console's) and the route map. Pure: no I/O."""

from datetime import date

from starlette.datastructures import FormData, UploadFile

from ots_runtime.settings import Settings
from services.intake.console import i18n, service_url
from services.intake.console.api_client import Answer
from services.intake.console.route_map import PADDING, WIDTH, Kecamatan, route_map
from services.intake.console.session import SessionKeys
from services.intake.console.visit_form import nik_problem, renumbered, visit_body
from tests.support.requests import a_nik

TODAY = date(2026, 12, 2)
ENGLISH, INDONESIAN = i18n.language("en"), i18n.language("id")


def test_a_sealed_session_opens_only_with_the_same_secret() -> None:
    keys = SessionKeys("one-secret-for-tests")
    sealed = keys.seal("ots-token")
    assert "ots-token" not in sealed
    assert keys.unseal(sealed) == "ots-token"
    assert SessionKeys("another-secret-here").unseal(sealed) is None
    assert keys.unseal(sealed[:-2] + "xx") is None
    assert keys.unseal(None) is None


def test_a_csrf_token_belongs_to_its_session_only() -> None:
    keys = SessionKeys("one-secret-for-tests")
    mine = keys.csrf_for("token-a")
    assert keys.csrf_ok("token-a", mine)
    assert not keys.csrf_ok("token-b", mine)
    assert not keys.csrf_ok("token-a", None)
    assert not keys.csrf_ok(None, mine)


def form(**fields: str | list[str]) -> FormData:
    items: list[tuple[str, str | UploadFile]] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((name.replace("__", "."), one))
    return FormData(items)


def test_the_form_becomes_the_apis_body_with_blank_resident_rows_left_out() -> None:
    nik = a_nik()
    fields: dict[str, str | list[str]] = {
        "venue__type": "home", "venue__lat": "-8,18", "venue__lon": "113.68",
        "residents__0__nik": "", "residents__1__nik": nik, "residents__1__name": "Siti",
        "services": ["ktp_el_recording", "kk"], "expected_people": "2",
    }  # fmt: skip
    body = visit_body(form(**fields), "Dinas Sosial Jember")
    assert body["venue"]["lat"] == -8.18
    assert body["residents"] == [{"nik": nik, "name": "Siti", "needs": []}]
    assert body["services"] == ["ktp_el_recording", "kk"]
    assert body["requester"]["agency_name"] == "Dinas Sosial Jember"
    assert "fixed_start" not in body


def test_what_is_not_a_number_goes_to_the_api_as_typed_for_it_to_name() -> None:
    body = visit_body(form(venue__lat="minus eight"), "x")
    assert body["venue"]["lat"] == "minus eight"


def test_the_apis_resident_numbers_are_mapped_back_to_the_forms_rows() -> None:
    sent = form(**{"residents__0__nik": "", "residents__1__nik": "1", "residents__2__nik": "2"})
    errors = renumbered({"residents.1.nik": "bad", "venue.lat": "far"}, sent)
    assert errors == {"residents.2.nik": "bad", "venue.lat": "far"}


def test_a_nik_as_typed_is_judged_by_intakes_rules() -> None:
    assert nik_problem("", form(), TODAY, ENGLISH) is None
    assert nik_problem(a_nik(day=52, year=90, kecamatan="350919"), form(), TODAY, ENGLISH) is None
    assert "350999" in str(nik_problem("3509990101900001", form(), TODAY, ENGLISH))
    assert "16" in str(nik_problem("35091901", form(), TODAY, ENGLISH))
    assert "birth day" in str(nik_problem("3509193501900001", form(), TODAY, ENGLISH))


def test_a_nik_as_typed_is_judged_in_indonesian_by_default() -> None:
    assert nik_problem("3509990101900001", form(), TODAY, INDONESIAN) == (
        "Kode kecamatan 350999 bukan salah satu dari 31 kecamatan Jember (350901 sampai 350931)."
    )
    assert nik_problem("35091901", form(), TODAY, INDONESIAN) == (
        "NIK terdiri dari tepat 16 angka; yang ini 8 karakter."
    )


def test_a_child_is_too_young_for_recording_but_not_for_a_family_card() -> None:
    child = a_nik(day=12, month=5, year=15, kecamatan="350919")
    recording = form(services="ktp_el_recording", window__earliest="2026-12-03")
    family_card = form(services="kk", window__earliest="2026-12-03")
    assert "16" in str(nik_problem(child, recording, TODAY, ENGLISH))
    assert "Kamis, 3 Desember 2026" in str(nik_problem(child, recording, TODAY, INDONESIAN))
    assert nik_problem(child, family_card, TODAY, ENGLISH) is None


def test_api_field_errors_are_said_by_code_and_in_the_apis_words_when_unknown() -> None:
    answer = Answer(422, {"title": "Invalid request", "errors": [
        {"field": "services.0", "message": "ktp_el_print is not offered at a home: ...",
         "code": "service_not_at_venue",
         "params": {"service": "ktp_el_print", "venue": "home", "offered": "kia, kk"}},
        {"field": "venue.name", "message": "String should have at least 1 character",
         "code": "string_too_short", "params": {"min_length": 1}},
        {"field": "shift.end", "message": "a rule no catalogue knows yet", "code": "brand_new"},
        {"field": "venue.lat", "message": "no code at all"},
    ]})  # fmt: skip
    assert answer.field_errors(INDONESIAN) == {
        "services.0": "Pencetakan KTP-el tidak dilayani di jenis tempat ini (Rumah); yang "
        "dilayani di sana: Kartu Identitas Anak (KIA), Kartu Keluarga (KK).",
        "venue.name": "Paling sedikit 1 karakter.",
        "shift.end": "a rule no catalogue knows yet",
        "venue.lat": "no code at all",
    }
    assert answer.field_errors()["venue.name"] == "String should have at least 1 character"


def test_without_points_the_map_is_jembers_bounds() -> None:
    drawn = route_map(None, [])
    north_west, south_east = drawn.jember
    assert (north_west.x, north_west.y) == (PADDING, PADDING)
    assert (south_east.x, south_east.y) == (WIDTH - PADDING, drawn.height - PADDING)


def test_the_map_fits_the_base_and_the_stops_with_a_margin() -> None:
    drawn = route_map((-8.17, 113.70), [(-8.18, 113.68, "A"), (-8.30, 113.60, "B")])
    inside = [drawn.base, *(s.point for s in drawn.stops)]
    assert all(p is not None and PADDING < p.x < WIDTH - PADDING for p in inside)
    assert all(p is not None and PADDING < p.y < drawn.height - PADDING for p in inside)
    assert drawn.grid != []


def test_a_route_leaves_the_base_visits_its_stops_in_order_and_returns() -> None:
    drawn = route_map((-8.17, 113.70), [(-8.18, 113.68, "A"), (-8.30, 113.60, "B")])
    assert [s.order for s in drawn.stops] == [1, 2]
    points = drawn.path.split(" ")
    assert len(points) == 4
    assert points[0] == points[-1]


def test_the_map_shows_its_stops_kecamatan_and_leaves_out_those_far_away() -> None:
    stops = [(-8.18, 113.68, "A")]
    kecamatan = [
        Kecamatan(-8.25, 113.70, "Ajung", of_a_stop=True),  # its venues spread further out
        Kecamatan(-8.175, 113.685, "Kaliwates", of_a_stop=False),  # inside the frame anyway
        Kecamatan(-8.04, 114.00, "Sumberjambe", of_a_stop=False),  # the far north-east
    ]
    drawn = route_map((-8.17, 113.70), stops, kecamatan)
    assert [k.label for k in drawn.kecamatan] == ["Ajung", "Kaliwates"]
    assert all(PADDING <= k.point.y <= drawn.height - PADDING for k in drawn.kecamatan)


def test_the_console_reaches_dispatch_and_metrics_where_the_settings_say() -> None:
    apart = Settings(env="development", dispatch_url="http://dispatch:8081/", metrics_url=None,
                     bind_host="0.0.0.0", metrics_port=9083, _env_file=None)  # fmt: skip
    assert service_url(apart, "dispatch") == "http://dispatch:8081"
    assert service_url(apart, "metrics") == "http://127.0.0.1:9083"  # as `ots run` starts it


def test_a_conflict_about_one_resident_is_said_by_its_code_next_to_their_nik() -> None:
    answer = Answer(409, {
        "title": "Person already recorded", "detail": "residents.0 was recorded in visit ...",
        "code": "already_recorded", "field": "residents.0.nik",
        "conflicting_visit_id": "v-1", "recorded_on": "2026-11-30",
    })  # fmt: skip
    assert answer.field_errors(INDONESIAN) == {
        "residents.0.nik": "Warga ini sudah direkam pada Senin, 30 November 2026 (kunjungan v-1): "
        "merekamnya lagi akan memblokir kartunya. Layanan lain tetap diterima untuknya; operator "
        "dapat memberi pengecualian."
    }


def test_in_production_the_consoles_cookies_are_secure_behind_a_tls_proxy() -> None:
    from fastapi import FastAPI
    from starlette.requests import Request

    from services.intake.console import install_console
    from services.intake.console.web import is_secure

    def plain_http_request(env: str) -> Request:
        app = FastAPI()
        settings = Settings(
            env=env, nats_url="nats://nats:4222", database_url="postgresql://db/ots",
            _env_file=None,
        )  # fmt: skip
        install_console(app, settings, "a-pepper-for-tests")
        scope = {"type": "http", "scheme": "http", "app": app, "headers": [], "path": "/"}
        return Request(scope)

    assert is_secure(plain_http_request("production"))
    assert not is_secure(plain_http_request("development"))
