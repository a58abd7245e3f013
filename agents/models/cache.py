"""``CachedModel``: a record/replay cache in SQLite, keyed by the normalised request hash.

Wrap any client: the first call of a request goes to the model and is recorded; later calls
of the same request (same model, messages and settings) are answered from the file. With
``mode="replay"`` a miss is an error, so a test or a demo can never reach the real model::

    model = CachedModel(OpenAIChatClient(url, "m"), "calls.sqlite")        # record
    model = CachedModel(OpenAIChatClient(url, "m"), "calls.sqlite", mode="replay")

Only the request body and the response are stored: never headers or API keys.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agents.models.base import ModelClient, ModelRequest, ModelResponse, call_hash
from protocols import StoreError, UserError

__all__ = ["CachedModel"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    hash TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    op TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL
)
"""


class CachedModel(ModelClient):
    """Caches ``inner``'s replies in a SQLite file.

    Args:
        inner: The client to call on a miss.
        path: The cache file (created if missing).
        mode: ``"record"`` calls ``inner`` on a miss and stores the reply; ``"replay"``
            raises ``UserError`` on a miss.
    """

    def __init__(
        self, inner: ModelClient, path: str | Path, *, mode: Literal["record", "replay"] = "record"
    ) -> None:
        if mode not in ("record", "replay"):
            raise UserError(f"mode must be 'record' or 'replay', got {mode!r}")
        self.inner = inner
        self.model = inner.model
        self.path = Path(path)
        self.mode = mode
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None

    def describe(self) -> str:
        return f"CachedModel({self.inner.describe()})"

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                db = sqlite3.connect(self.path)
                db.execute(_SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"cannot open the model cache {str(self.path)!r}: {exc}. It is not a "
                    "lyceum cache file; move it aside or choose another path."
                ) from None
            self._db = db
        return self._db

    def _get(self, key: str) -> str | None:
        row = self._conn().execute("SELECT response FROM calls WHERE hash = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _put(self, key: str, op: str, request: str, response: str) -> None:
        with self._conn() as db:
            db.execute(
                "INSERT OR REPLACE INTO calls (hash, model, op, request, response) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, self.model, op, request, response),
            )

    def _miss(self, key: str, what: str) -> None:
        self.misses += 1
        if self.mode == "replay":
            raise UserError(
                f"CachedModel in replay mode has no recorded reply for this {what} (hash "
                f"{key[:12]}) in {str(self.path)!r}; record it first with mode='record'"
            )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        key = request.request_hash(self.model)
        cached = self._get(key)
        if cached is not None:
            self.hits += 1
            return ModelResponse.model_validate_json(cached)
        self._miss(key, "request")
        response = await self.inner.complete(request)
        self._put(key, "complete", request.model_dump_json(), response.model_dump_json())
        return response

    async def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        payload = {"prompt": prompt, "continuations": list(continuations)}
        key = call_hash(self.model, "score", payload)
        cached = self._get(key)
        if cached is not None:
            self.hits += 1
            return [float(x) for x in json.loads(cached)]
        self._miss(key, "scoring request")
        scores = await self.inner.score(prompt, continuations)
        self._put(key, "score", json.dumps(payload), json.dumps(scores))
        return scores

    async def aclose(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        await self.inner.aclose()
