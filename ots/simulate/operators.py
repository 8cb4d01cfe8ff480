"""Operators at the department and partner agencies, over intake's HTTP API."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ots.admin import new_token
from ots.simulate.http import Service
from ots.simulate.places import Team
from ots.simulate.visit_plan import VisitPlan
from ots_runtime.settings import Settings

DEPARTMENT = "dispendukcapil"
PARTNERS = ("dinsos", "sekolah", "pesantren", "desa")


@dataclass(frozen=True)
class Requested:
    plan: VisitPlan
    visit_id: str
    created_at: datetime


class RequestRefused(RuntimeError):
    pass


class Operators:
    def __init__(self, intake_url: str, tokens: dict[str, str]) -> None:
        self.by_agency = {agency: Service(intake_url, token) for agency, token in tokens.items()}
        self.department_token = tokens[DEPARTMENT]  # also reads dispatch's plans, metrics' reports
        self.department = self.by_agency[DEPARTMENT]

    @classmethod
    async def sign_in(cls, settings: Settings, intake_url: str) -> "Operators":
        label = "ots simulate"
        tokens = {DEPARTMENT: await new_token(settings, "operator", DEPARTMENT, label)}
        for agency in PARTNERS:
            tokens[agency] = await new_token(settings, "agency", agency, label)
        return cls(intake_url, tokens)

    async def enrol(self, teams: list[Team], public_keys: dict[str, str]) -> None:
        """Teams and gateways that intake does not know yet, or knows with another key."""
        known_teams = {t["team_id"] for t in await self.department.json("GET", "/v1/teams")}
        devices = {d["device_id"]: d for d in await self.department.json("GET", "/v1/devices")}
        expires = (datetime.now(UTC) + timedelta(days=365)).isoformat()
        for team in teams:
            if team.team_id not in known_teams:
                await self.department.json("PUT", f"/v1/teams/{team.team_id}", json=team.body)
            known = devices.get(team.device_id, {})
            key = public_keys[team.device_id]
            if (
                known.get("public_key") != key
                or known.get("revoked")
                or known.get("team_id") != team.team_id
            ):
                body = {"team_id": team.team_id, "kind": "gateway", "public_key": key,
                        "expires_at": expires}  # fmt: skip
                await self.department.json("PUT", f"/v1/devices/{team.device_id}", json=body)

    async def request(self, plan: VisitPlan, seed: int) -> Requested:
        day = plan.body["window"]["earliest"]
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"ots-simulate/{seed}/{day}/{plan.key}")
        response = await self.by_agency[plan.agency].call(
            "POST", "/v1/visits", json=plan.body, headers={"Idempotency-Key": str(key)}
        )
        if response.status_code != 201:
            raise RequestRefused(f"{plan.key}: {response.status_code} {response.text[:300]}")
        summary = response.json()
        visit = await self.visit(summary["visit_id"])
        return Requested(plan, summary["visit_id"], datetime.fromisoformat(visit["created_at"]))

    async def visit(self, visit_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.department.json("GET", f"/v1/visits/{visit_id}")
        return found

    async def aclose(self) -> None:
        for service in self.by_agency.values():
            await service.aclose()
