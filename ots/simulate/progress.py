"""The day unfolding on one live line on stderr."""

import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass
class Progress:
    requested: int = 0
    planned: int = 0
    recorded: int = 0
    recaptures: int = 0
    closed: int = 0
    completed: int = 0
    visits: int = 0

    def line(self) -> str:
        return (f"visits requested {self.requested}/{self.visits} · planned {self.planned}"
                f" · people recorded {self.recorded} · recaptures {self.recaptures}"
                f" · closed {self.closed} · completed {self.completed}")  # fmt: skip

    async def show(self, out: TextIO = sys.stderr, every: float = 0.5) -> None:
        """Redraws in place on a terminal; elsewhere prints a line only when something changed."""
        shown = ""
        while True:
            line = self.line()
            if line != shown:
                out.write(f"\r{line}" if out.isatty() else f"{line}\n")
                out.flush()
                shown = line
            await asyncio.sleep(every)
