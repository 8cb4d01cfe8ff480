"""The console is a client of intake's own HTTP API, called in process with the signed-in
person's token, so every rule, scope and error is the API's; and of the read APIs of
dispatch (plans) and metrics (reports)."""

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Request

from services.intake.console.i18n import Language
from services.intake.console.web import Visitor, console_of

TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def field_errors(self, lang: Language | None = None) -> dict[str, str]:
        """RFC 9457 problems by the field they concern; the rest under `""`. In `lang` where
        the catalogues know the problem's `code`, else in the API's words."""
        if self.ok or not isinstance(self.body, dict):
            return {} if self.ok else {"": str(self.body)}
        errors: dict[str, str] = {}
        for error in self.body.get("errors") or []:
            errors.setdefault(str(error.get("field", "")), _said(error, "message", lang))
        if "field" in self.body:  # a 409 about one field: its params sit in the body itself
            errors.setdefault(str(self.body["field"]), _said(self.body, "detail", lang))
        if not errors:
            errors[""] = str(self.body.get("detail") or self.body.get("title") or self.status)
        return errors


def _said(problem: dict[str, Any], words: str, lang: Language | None) -> str:
    message = str(problem.get(words, ""))
    if lang is None:
        return message
    params = problem.get("params", problem)
    return lang.problem(str(problem.get("code") or ""), params if isinstance(params, dict) else {},
                        message)  # fmt: skip


def _answer(reply: httpx.Response) -> Answer:
    kind = reply.headers.get("content-type", "")
    body: Any = reply.json() if "json" in kind else reply.text
    return Answer(reply.status_code, body, dict(reply.headers))


class IntakeApi:
    """Intake's `/v1` API as the signed-in person would call it."""

    def __init__(self, request: Request, visitor: Visitor) -> None:
        self._transport = httpx.ASGITransport(app=request.app)
        self._headers = _bearer(visitor)

    async def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:  # fmt: skip
        async with httpx.AsyncClient(
            transport=self._transport, base_url="http://intake", timeout=TIMEOUT
        ) as client:
            reply = await client.request(
                method, f"/v1{path}", json=json, params=_present(params),
                headers=self._headers | (headers or {}),
            )  # fmt: skip
        return _answer(reply)

    async def get(self, path: str, **params: Any) -> Answer:
        return await self.call("GET", path, params=params)


def _present(params: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v not in (None, "")}


def _bearer(visitor: Visitor) -> dict[str, str]:
    return {"Authorization": f"Bearer {visitor.token}"}


async def plans(request: Request, visitor: Visitor, day: str) -> Answer:
    url = console_of(request).services.dispatch + "/v1/plans"
    return await _get(url, {"date": day}, _bearer(visitor))


async def replan(request: Request, visitor: Visitor) -> Answer:
    """Ask dispatch to plan again (operators only: dispatch checks the token's role itself)."""
    url = console_of(request).services.dispatch + "/v1/plans/replan"
    return await _send("POST", url, {}, _bearer(visitor))


async def report(
    request: Request, visitor: Visitor, path: str, params: dict[str, Any], accept: str
) -> Answer:
    url = console_of(request).services.metrics + path
    return await _get(url, params, _bearer(visitor) | {"Accept": accept})


async def _get(url: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return await _send("GET", url, params, headers)


async def _send(
    method: str, url: str, params: dict[str, Any], headers: dict[str, str] | None = None
) -> Answer:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            reply = await client.request(method, url, params=_present(params), headers=headers)
    except httpx.TransportError as error:
        return Answer(503, {"title": "Unavailable", "detail": f"{url} did not answer: {error}"})
    if "json" in reply.headers.get("content-type", ""):
        return _answer(reply)
    return Answer(reply.status_code, reply.content, dict(reply.headers))
