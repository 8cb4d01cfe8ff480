"""HTTP to the running services, patient with restarts: retried while a service is away."""

import asyncio
from typing import Any

import httpx

RETRYABLE = (httpx.TransportError,)
PATIENCE_SECONDS = 90.0


class Unavailable(RuntimeError):
    pass


class Service:
    """One service's base URL, optionally with a bearer token."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=15)

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The first answer that is not a server error; requests here are all idempotent."""
        deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
        while True:
            try:
                response = await self.client.request(method, path, **kwargs)
                if response.status_code < 500:
                    return response
                problem = f"{response.status_code} {response.text[:200]}"
            except RETRYABLE as error:
                problem = repr(error)
            if asyncio.get_running_loop().time() > deadline:
                raise Unavailable(f"{method} {self.client.base_url}{path}: {problem}")
            await asyncio.sleep(0.5)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        await self.client.aclose()
