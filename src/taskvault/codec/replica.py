"""A replica's state as JSON: in a snapshot's first line (``sync``) and in a sync's journal record (its change).

    {"device": "3f9a0c1d2e4b", "seq": 12, "frontier": {"3f9a0c1d2e4b": 12, "77c1...": 40},
     "tasks": {"<uuid>": {"clock": {"3f9a0c1d2e4b": 7}, "fp": "9c1e...", "conflict": {...}}, ...}}

A conflict keeps every side whole: ``{"mine": TASK|null, "shipped": bool, "ancestor": TASK|null, "theirs":
[{"device": D, "clock": {...}, "body": TASK|null}, ...]}``, each TASK as a task line holds it. Also the
fingerprint by which a replica tells a task changed here since it last synced.
"""

from __future__ import annotations

import hashlib
import uuid as uuid_module
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..domain.replica import Clock, Conflict, Records, Replica, ReplicaChange, Side, Synced
from ..domain.task import Task
from ..errors import InvalidValue
from .scalars import FormatError, dumps
from .tasks import task_from_dict, task_to_dict


def fingerprint(task: Task | None) -> str:
    """16 hex digits that change when anything of the task but its local id changes ("-" for a deleted one)."""
    if task is None:
        return "-"
    fields = task_to_dict(task)
    del fields["id"]
    return hashlib.blake2b(dumps(fields).encode(), digest_size=8).hexdigest()


def _clock(clock: Clock) -> dict[str, int]:
    return clock.as_dict()


def _body(task: Task | None) -> dict[str, Any] | None:
    return None if task is None else task_to_dict(task)


def _synced(synced: Synced) -> dict[str, Any]:
    doc: dict[str, Any] = {"clock": _clock(synced.clock), "fp": synced.fingerprint}
    conflict = synced.conflict
    if conflict is not None:
        doc["conflict"] = {"mine": _body(conflict.mine), "shipped": conflict.mine_shipped,
                           "ancestor": _body(conflict.ancestor),
                           "theirs": [{"device": s.device, "clock": _clock(s.clock), "body": _body(s.body)}
                                      for s in conflict.theirs]}
    return doc


def _tasks(tasks: Mapping[uuid_module.UUID, Synced]) -> dict[str, Any]:
    return {str(u): _synced(s) for u, s in sorted(tasks.items())}


def replica_to_dict(replica: Replica) -> dict[str, Any]:
    return {"device": replica.device, "seq": replica.seq, "frontier": _clock(replica.frontier),
            "clean_at": replica.clean_at, "remote_key": replica.remote_key, "tasks": _tasks(replica.tasks)}


def replica_change_to_dict(change: ReplicaChange) -> dict[str, Any]:
    return {"device": change.device, "seq": change.seq, "frontier": _clock(change.frontier),
            "clean_at": change.clean_at, "remote_key": change.remote_key, "tasks": _tasks(change.tasks)}


# -- reading: every value checked, FormatError naming the JSON path -------------------------------------------

def _object(value: Any, path: str, keys: frozenset[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    if type(value) is not dict:
        raise FormatError("expected a JSON object", path)
    if not keys <= value.keys() or not value.keys() <= keys | optional:
        wrong = sorted((keys - value.keys()) | (value.keys() - keys - optional))
        raise FormatError(f"unexpected or missing field {wrong[0]!r:.40}", path)
    return value


def _read_clock(value: Any, path: str) -> Clock:
    if type(value) is not dict:
        raise FormatError("expected a clock (an object of device ids and counts)", path)
    try:
        return Clock.of(value)
    except InvalidValue as exc:
        raise FormatError(str(exc), path) from None


def _read_uuid(value: Any, path: str) -> uuid_module.UUID:
    try:
        parsed = uuid_module.UUID(value) if type(value) is str else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value:
        raise FormatError(f"expected a task's uuid, got {value!r:.40}", path)
    return parsed


def _read_body(value: Any, path: str) -> Task | None:
    return None if value is None else task_from_dict(value, path)


_SYNCED_KEYS = frozenset({"clock", "fp"})
_CONFLICT_KEYS = frozenset({"mine", "shipped", "ancestor", "theirs"})
_SIDE_KEYS = frozenset({"device", "clock", "body"})
_REPLICA_KEYS = frozenset({"device", "seq", "frontier", "clean_at", "remote_key", "tasks"})


def _read_synced(value: Any, path: str, task: uuid_module.UUID) -> Synced:
    doc = _object(value, path, _SYNCED_KEYS, frozenset({"conflict"}))
    if type(doc["fp"]) is not str or not 1 <= len(doc["fp"]) <= 64:
        raise FormatError("expected a fingerprint", f"{path}.fp")
    conflict = None
    if "conflict" in doc:
        raw = _object(doc["conflict"], f"{path}.conflict", _CONFLICT_KEYS)
        if type(raw["shipped"]) is not bool or type(raw["theirs"]) is not list or not raw["theirs"]:
            raise FormatError("expected whether mine was shipped, and at least one other side", f"{path}.conflict")
        sides = []
        for i, side in enumerate(raw["theirs"]):
            where = f"{path}.conflict.theirs[{i}]"
            s = _object(side, where, _SIDE_KEYS)
            try:
                sides.append(Side(s["device"], _read_clock(s["clock"], f"{where}.clock"),
                                  _read_body(s["body"], f"{where}.body")))
            except InvalidValue as exc:
                raise FormatError(str(exc), where) from None
        conflict = Conflict(_read_body(raw["mine"], f"{path}.conflict.mine"), tuple(sides),
                            _read_body(raw["ancestor"], f"{path}.conflict.ancestor"), mine_shipped=raw["shipped"])
        bodies = [conflict.mine, conflict.ancestor, *(s.body for s in conflict.theirs)]
        if any(b is not None and b.uuid != task for b in bodies):
            raise FormatError("a side of the conflict is another task", f"{path}.conflict")
    return Synced(_read_clock(doc["clock"], f"{path}.clock"), doc["fp"], conflict)


class LazyRecords(Records):
    """A stored state's task records, each read (as strictly as ever) when first asked for: a command that
    changes one task of a synced store of 10,000 reads one record, not 10,000. A record that does not decode
    is refused then, through ``refused`` (the store makes it the snapshot's damage)."""

    def __init__(self, raw: dict[str, Any], path: str, refused: Callable[[FormatError], Exception]) -> None:
        self._raw, self._path, self._refused = raw, path, refused
        self._read: dict[uuid_module.UUID, Synced] = {}

    def __getitem__(self, key: uuid_module.UUID) -> Synced:
        found = self._read.get(key)
        if found is None:
            raw = self._raw.get(str(key)) if type(key) is uuid_module.UUID else None
            if raw is None:
                raise KeyError(key)
            try:
                found = self._read[key] = _read_synced(raw, f"{self._path}[{str(key)!r}]", key)
            except FormatError as exc:
                raise self._refused(exc) from None
        return found

    def __contains__(self, key: object) -> bool:
        return type(key) is uuid_module.UUID and str(key) in self._raw

    def __iter__(self) -> Iterator[uuid_module.UUID]:
        for key in self._raw:
            try:
                yield _read_uuid(key, self._path)
            except FormatError as exc:
                raise self._refused(exc) from None

    def __len__(self) -> int:
        return len(self._raw)

    def conflicted_uuids(self) -> set[uuid_module.UUID]:
        return {uuid_module.UUID(key) for key, raw in self._raw.items() if type(raw) is dict and "conflict" in raw}


def _read_parts(value: Any, path: str, lazily: Callable[[FormatError], Exception] | None = None
                ) -> tuple[str, int, Clock, Mapping[uuid_module.UUID, Synced], int | None, str | None]:
    doc = _object(value, path, _REPLICA_KEYS)
    remote_key = doc["remote_key"]
    if remote_key is not None and (type(remote_key) is not str or len(remote_key) > 1024):
        raise FormatError("expected a remote's key as the store keeps it, or null", f"{path}.remote_key")
    clean_at = doc["clean_at"]
    if clean_at is not None and (type(clean_at) is not int or clean_at < 0):
        raise FormatError("expected a store revision or null", f"{path}.clean_at")
    if type(doc["device"]) is not str or type(doc["seq"]) is not int or doc["seq"] < 0:
        raise FormatError("expected a device id and its last operation's number", path)
    if type(doc["tasks"]) is not dict:
        raise FormatError("expected the synced tasks by uuid", f"{path}.tasks")
    tasks: Mapping[uuid_module.UUID, Synced]
    if lazily is not None:
        tasks = LazyRecords(doc["tasks"], f"{path}.tasks", lazily)
    else:
        tasks = {}
        for key, synced in doc["tasks"].items():
            task = _read_uuid(key, f"{path}.tasks")
            tasks[task] = _read_synced(synced, f"{path}.tasks[{key!r}]", task)
    frontier = _read_clock(doc["frontier"], f"{path}.frontier")
    if frontier.get(doc["device"]) != doc["seq"]:
        raise FormatError("the device's own operations taken in differ from its last number", path)
    return doc["device"], doc["seq"], frontier, tasks, clean_at, remote_key


def replica_from_dict(value: Any, path: str, lazily: Callable[[FormatError], Exception] | None = None) -> Replica:
    """A stored state; with ``lazily``, its task records are read when asked for, a bad one refused through it."""
    device, seq, frontier, tasks, clean_at, remote_key = _read_parts(value, path, lazily)
    if clean_at is None or remote_key is None:
        raise FormatError("expected a store revision and a remote's key (or \"\")", path)
    try:
        return Replica(device, seq, frontier, tasks, clean_at, remote_key)
    except InvalidValue as exc:
        raise FormatError(str(exc), path) from None


def replica_change_from_dict(value: Any, path: str) -> ReplicaChange:
    device, seq, frontier, tasks, clean_at, remote_key = _read_parts(value, path)
    try:
        Replica(device)  # (checks the device id)
    except InvalidValue as exc:
        raise FormatError(str(exc), path) from None
    return ReplicaChange(device, seq, frontier, tasks, clean_at, remote_key)
