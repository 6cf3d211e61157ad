"""A blocking remote's answers given by coroutines: what the asyncio API awaits, for suites that run the same
scenarios over the blocking and the asyncio classes."""

from __future__ import annotations

import asyncio
from typing import Any


class AsyncSource:
    """``remote.get_role``, awaited (after one trip through the event loop, so that tasks interleave)."""

    def __init__(self, remote: Any) -> None:
        self.remote = remote

    async def get_role(self, gun: str, role: str, **kwargs: Any) -> bytes:
        await asyncio.sleep(0)
        return self.remote.get_role(gun, role, **kwargs)  # type: ignore[no-any-return]
