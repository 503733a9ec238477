"""The simulator's state: Stripe objects in memory, optionally mirrored to a SQLite file.

One re-entrant lock guards everything. API handlers, hosted pages, the expiry ticker and
the webhook worker all take it, so each operation sees and leaves a consistent state.
"""

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, account TEXT, seq INTEGER NOT NULL,
    body TEXT NOT NULL, private TEXT NOT NULL, PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS idempotency (scope TEXT PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclasses.dataclass
class Record:
    kind: str  # "account", "checkout.session", "event", "account_link", …
    id: str
    account: str | None  # the connected account it lives on; None: the platform
    seq: int  # creation order, to list newest first when ``created`` seconds tie
    body: dict[str, Any]  # the object exactly as the API shows it
    private: dict[str, Any]  # what only the simulator knows (line items, link state, card)


class Store:
    def __init__(self, state_file: str | None = None) -> None:
        self.lock = threading.RLock()
        self._records: dict[tuple[str, str], Record] = {}
        self._idempotency: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, Any] = {}
        self._seq = 0
        self._db: sqlite3.Connection | None = None
        if state_file:
            self._open(Path(state_file))

    # Records

    def add(
        self,
        kind: str,
        body: dict[str, Any],
        *,
        account: str | None = None,
        private: dict[str, Any] | None = None,
        object_id: str | None = None,
    ) -> Record:
        with self.lock:
            self._seq += 1
            record = Record(kind, object_id or body["id"], account, self._seq, body, private or {})
            self._records[(kind, record.id)] = record
            self.save(record)
            return record

    def save(self, record: Record) -> None:
        """Write a changed record through to the state file (no-op in memory mode)."""
        if self._db is None:
            return
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.kind,
                    record.id,
                    record.account,
                    record.seq,
                    json.dumps(record.body),
                    json.dumps(record.private),
                ),
            )

    def delete(self, record: Record) -> None:
        with self.lock:
            self._records.pop((record.kind, record.id), None)
            if self._db is not None:
                self._db.execute(
                    "DELETE FROM records WHERE kind = ? AND id = ?", (record.kind, record.id)
                )

    def get(self, kind: str, object_id: str, account: str | None) -> Record | None:
        """The record if it lives on ``account``: an object of another account (or of the
        platform) is invisible, as Stripe answers 404 across the Stripe-Account boundary."""
        record = self.find(kind, object_id)
        return record if record is not None and record.account == account else None

    def find(self, kind: str, object_id: str) -> Record | None:
        """The record whatever account owns it (hosted pages, control API, internals)."""
        with self.lock:
            return self._records.get((kind, object_id))

    def records(self, kind: str, account: str | None) -> list[Record]:
        return [record for record in self.all_records(kind) if record.account == account]

    def all_records(self, kind: str) -> list[Record]:
        """Newest first, Stripe's order for every list."""
        with self.lock:
            found = [record for (k, _), record in self._records.items() if k == kind]
        return sorted(found, key=lambda record: record.seq, reverse=True)

    # Idempotency keys and small settings

    def idempotent_result(self, scope: str) -> dict[str, Any] | None:
        with self.lock:
            return self._idempotency.get(scope)

    def remember_result(self, scope: str, entry: dict[str, Any], oldest_created: int) -> None:
        """Keep a result; drop those past Stripe's 24-hour key lifetime while at it."""
        with self.lock:
            expired = [s for s, e in self._idempotency.items() if e["created"] < oldest_created]
            for old_scope in expired:
                del self._idempotency[old_scope]
            self._idempotency[scope] = entry
            if self._db is not None:
                for old_scope in expired:
                    self._db.execute("DELETE FROM idempotency WHERE scope = ?", (old_scope,))
                self._db.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?, ?)", (scope, json.dumps(entry))
                )

    def meta(self, name: str, default: Any = None) -> Any:
        with self.lock:
            return self._meta.get(name, default)

    def set_meta(self, name: str, value: Any) -> None:
        with self.lock:
            self._meta[name] = value
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value))
                )

    def clear(self) -> None:
        with self.lock:
            self._records.clear()
            self._idempotency.clear()
            self._meta.clear()
            self._seq = 0
            if self._db is not None:
                self._db.executescript(
                    "DELETE FROM records; DELETE FROM idempotency; DELETE FROM meta;"
                )

    def close(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # Persistence

    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: every write is durable on its own; the store lock serialises them.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        rows = self._db.execute("SELECT kind, id, account, seq, body, private FROM records")
        for kind, object_id, account, seq, body, private in rows:
            record = Record(kind, object_id, account, seq, json.loads(body), json.loads(private))
            self._records[(kind, object_id)] = record
            self._seq = max(self._seq, seq)
        for scope, entry in self._db.execute("SELECT scope, entry FROM idempotency"):
            self._idempotency[scope] = json.loads(entry)
        for name, value in self._db.execute("SELECT name, value FROM meta"):
            self._meta[name] = json.loads(value)
