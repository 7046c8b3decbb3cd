"""Sync: this store's tasks and the other devices', through a git remote (issue 22).

One sync is, in this order:

1. fetch the remote's ``main`` into the mirror (``sync.git`` in the data directory; no store lock held);
2. refuse a remote that lost a file a past sync saw there (a force-push, another repository put in its place);
3. read the segments of operations not yet taken in, and take them in as ONE append under the store lock
   (ChangeKind.SYNC: the tasks they change and the replication state's change together, so a crash leaves
   all of it or none, and taking the same operations in again changes nothing);
4. number this device's changes since the last sync as operations (read under the store lock, then let go),
   write them as a new segment into a commit on top of the remote's, and only then record them as shipped
   (another append): a crash between leaves a commit no record names, which the next sync drops;
5. push that commit, never forced. A push the remote rejects because another device pushed first is the
   compare-and-swap: fetch, take in, push again.

Local work never waits for the network: the store lock is held only for the appends of steps 3 and 4, and
a failed sync has changed nothing it has not also made durable (and what it made durable is whole). One
sync of a store runs at a time (``sync.lock``). Only this module and the git mirror know of git.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import uuid as uuid_module
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import attrs

from ..codec.ops import NAME_MAX, Segment, decode_segment, encode_segments, parse_segment_path, segment_last
from ..codec.replica import fingerprint
from ..domain.change import Change, ChangeKind
from ..domain.replica import (
    MUST_SHIP,
    Integration,
    Merge,
    Operation,
    Replica,
    ReplicaChange,
    Synced,
    integrate,
    shipped,
)
from ..domain.task import Task
from ..domain.tasklist import TaskList
from ..errors import RemoteDamaged, RemoteRewritten, SyncFailed, SyncNotSetUp, typed
from . import files
from .git_mirror import GitMirror, check_url, shown_url
from .lock import try_exclusive_lock
from .sync_key import KEY_FILE, SyncKey, key_file_ids, new_key_file, open_key_file, sealed_by
from .unit_of_work import UnitOfWork

MIRROR_NAME = "sync.git"
SYNC_LOCK_NAME = "sync.lock"
#: How many times a sync fetches again after another device pushed first, before it gives up for now.
MAX_ROUNDS = 8
#: About how many bytes of segments one append takes in (some 20,000 operations; a journal record holds 64 MiB).
BATCH_BYTES = 8 * 1024 * 1024
_SYNCED, _OUTGOING = "synced", "outgoing"
#: Commits of a remote sync used before the present one (their segments go to the present one): carried-1, …
_CARRIED = "carried-"


@attrs.define
class SyncReport:
    """What one sync did: what came in, what went out, and where."""

    remote: str
    #: Operations taken in, and the ids of the tasks they brought, changed, removed, put in conflict or merged.
    received: int = 0
    updated: list[int] = attrs.field(factory=list)
    deleted: list[int] = attrs.field(factory=list)
    conflicts: list[int] = attrs.field(factory=list)
    merged: list[int] = attrs.field(factory=list)
    #: Operations of this device's sent this time (numbered now or by a sync that could not push them).
    sent: int = 0
    #: The store revision of the change that took operations in (None: nothing came).
    revision: int | None = None


@attrs.frozen
class SyncStatus:
    """Where sync stands, read without the network."""

    remote: str | None
    device: str | None
    #: Tasks changed here since the last sync; operations numbered but not yet on the remote.
    unsynced: int
    unpushed: int
    #: Ids of the tasks in conflict.
    conflicts: tuple[int, ...]
    last_sync: str | None


class Syncer:
    """Sync of one store, through the mirror in its data directory; see the module's docstring."""

    def __init__(self, directory: Path, work: UnitOfWork, *, encrypted: bool, merge: Merge = Merge.NEVER,
                 device_name: str | None = None, now: Callable[[], dt.datetime],
                 passphrase: Callable[[], str] | None = None) -> None:
        self._directory = directory
        self._work = work
        self._encrypted = encrypted
        #: An encrypted store's passphrase, asked (and checked) only when a remote's key must be made or opened.
        self._passphrase = passphrase
        #: The remote's key while this sync runs (None: a plain remote), the one this store kept before it if
        #: that was another (what this device sealed with it is sealed again), and a new key's file to push.
        self._key: SyncKey | None = None
        self._old_key: SyncKey | None = None
        self._new_key_file: bytes | None = None
        self._pending_ops = 0  # operations in the segments _unpushed found
        self._merge = merge
        name = device_name if device_name is not None else socket.gethostname()
        #: This device's name in its segments (its host name, what is printable of it).
        self._name = "".join(c for c in name if c.isprintable())[:NAME_MAX]
        self._now = now
        self.mirror = GitMirror(directory / MIRROR_NAME)
        self._new_device = secrets.token_hex(6)  # this device's id, if this sync is its first

    # -- the whole sync --------------------------------------------------------------------------------------

    def sync(self, remote: str | None = None) -> SyncReport:
        # A first sync makes nothing (no lock file, no mirror) until its remote has answered.
        first = not self.mirror.path.is_dir()
        if remote is None and first:
            raise self._not_set_up()
        if remote is not None and first:
            self.mirror.probe(remote)
        with self._sync_lock():
            self.mirror.open()
            if remote is not None:
                before = self.mirror.remote()
                if before is not None and before != check_url(remote):
                    self.mirror.probe(remote)
                self.mirror.set_remote(remote)
                if before is not None:  # (named again, even as it was: a remote put back from an older copy is
                    self._forget_remote()  # taken as it is now, and sent what it lost from what this device holds)
            elif self.mirror.remote() is None:
                raise self._not_set_up()
            report = SyncReport(shown_url(self.mirror.remote() or ""))
            seen = self.mirror.marked(_SYNCED)  # (the remote as the last sync left it)
            for _ in range(MAX_ROUNDS):
                head = self.mirror.fetch()
                self._refuse_rewritten(head)
                self._key_for(head)
                self._take_in(head, report)
                outgoing = self._ship(head, report)
                if outgoing is None or self.mirror.push(outgoing):
                    if outgoing is not None:
                        self.mirror.mark(_SYNCED, outgoing)
                    for name in self.mirror.marks():
                        # All the old remotes held is on this one now, and all this device committed: the next
                        # sync need not look for it (a kill before this only makes that sync look again).
                        if name.startswith(_CARRIED) or name == _OUTGOING:
                            self.mirror.unmark(name)
                    self.mirror.set_setting("last-sync", self._now().isoformat(timespec="seconds"))
                    if outgoing is not None or head != seen:  # (objects came or were made: pack them in time)
                        self.mirror.tidy()
                    return report
            raise SyncFailed(f"the remote kept changing: {MAX_ROUNDS} other pushes got there first",
                             hint="what came in so far is kept; sync again in a moment")

    @staticmethod
    def _not_set_up() -> SyncNotSetUp:
        return SyncNotSetUp("no remote is set for sync yet",
                            hint=f"name one the first time: {typed('sync --remote URL')} (an ssh or https address of "
                            "a git repository, or the path of a bare one)")

    @contextmanager
    def _sync_lock(self) -> Iterator[None]:
        path = self._directory / SYNC_LOCK_NAME
        try:
            for made in files.ensure_private_directory(self._directory):  # a new device's first sync makes its store
                files.fsync_directory(made.parent)
            fd = files.open_regular(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SyncFailed(f"cannot open {path}: {exc.strerror or exc}",
                             hint="check that the data directory can be written to") from None
        with os.fdopen(fd, "r+b") as handle:
            if not try_exclusive_lock(handle):
                raise SyncFailed("another sync of this store is running",
                                 hint="wait for it to finish; your tasks can be changed meanwhile")
            yield

    def _forget_remote(self) -> None:
        """Another remote was named (or the same one by another address). What was seen on the old one says
        nothing of the new one, but what it held is carried over: every segment the old remote had and every
        one this device committed for it are added to the new remote at the next push (those it has already
        are left), so no operation is lost to it, whichever devices moved to it first."""
        taken = set(self.mirror.marks())
        for name in (_SYNCED, _OUTGOING):
            commit = self.mirror.marked(name)
            if commit is not None:
                number = next(n for n in range(1, len(taken) + 3) if f"{_CARRIED}{n}" not in taken)
                self.mirror.mark(f"{_CARRIED}{number}", commit)
                taken.add(f"{_CARRIED}{number}")
                self.mirror.unmark(name)

    # -- 2. a remote that lost what it held ------------------------------------------------------------------

    def _refuse_rewritten(self, head: str | None) -> None:
        seen = self.mirror.marked(_SYNCED)
        if seen is None or seen == head:
            return
        before = self.mirror.files(seen)
        now = self.mirror.files(head) if head is not None else {}
        lost = [path for path, (blob, _) in before.items() if now.get(path, ("",))[0] != blob]
        if lost:
            raise RemoteRewritten(
                f"the remote {shown_url(self.mirror.remote() or '')} lost {len(lost)} file(s) of operations it held "
                f"at the last sync, such as {lost[0]!r} (a force-push, or another repository at its address)",
                hint="nothing was changed here; if it is the right remote (put back from an older copy), name it "
                     f"again to send it what it lost: {typed('sync --remote URL')}; else point sync at the right one")

    # -- the key of an encrypted remote (store/sync_key.py) -----------------------------------------------

    def _key_for(self, head: str | None) -> None:
        """Find the remote's key: the one this store keeps, opened from the remote's key file with the passphrase,
        or, for an encrypted store's first sync with an empty remote, a new one (its file pushed with the first
        segments). A plain store refuses an encrypted remote, and an encrypted store a remote in clear."""
        listing = self.mirror.files(head, "") if head is not None else {}
        key_file = listing.get(KEY_FILE)
        if not self._encrypted:
            if key_file is not None:
                raise SyncFailed("the remote is encrypted, and this store is not: its tasks would be kept here in "
                                 "clear", hint=f"encrypt this store first ({typed('encrypt')}), then sync")
            return
        replica = self._work.tasks.replica
        kept = SyncKey.from_kept(replica.remote_key) if replica is not None and replica.remote_key else None
        if key_file is None:
            segments = sorted(path for path in listing if path.startswith("ops/"))
            if segments and sealed_by(self.mirror.read([listing[segments[0]][0]])[0]) is not None:
                raise RemoteDamaged(f"the remote's files are sealed, but its key file {KEY_FILE} is missing",
                                    hint="put it back from another copy of the remote; nothing was changed here")
            if segments:
                raise SyncFailed("the remote holds tasks in clear, and this store is encrypted: its tasks would go "
                                 "there in clear", hint="sync this store with a new, empty remote instead")
            if self._key is not None and self._new_key_file is not None:
                return  # (made by an earlier round of this sync, not pushed yet)
            key, self._new_key_file = new_key_file(self._asked_passphrase())
        else:
            remote_id, key_id, _ = key_file_ids(self.mirror.read([key_file[0]])[0])
            self._new_key_file = None
            if kept is not None and (kept.remote_id, kept.key_id) == (remote_id, key_id):
                self._key = kept
                return
            if self._key is not None and (self._key.remote_id, self._key.key_id) == (remote_id, key_id):
                return
            key = open_key_file(self.mirror.read([key_file[0]])[0], self._asked_passphrase())
        self._old_key = self._old_key or kept or self._key
        self._key = key
        self._work.change(lambda tasks: self._keep(tasks, key))

    def _asked_passphrase(self) -> str:
        if self._passphrase is None:
            raise SyncFailed("this store is encrypted, and no passphrase can be asked to lock or open the remote",
                             hint="sync at a terminal, or set TASKVAULT_PASSPHRASE_FILE")
        return self._passphrase()

    def _keep(self, tasks: TaskList, key: SyncKey) -> Change:
        replica = tasks.replica
        device, seq, frontier = ((replica.device, replica.seq, replica.frontier) if replica is not None
                                 else (self._new_device, 0, Replica(self._new_device).frontier))
        return Change(ChangeKind.SYNC, next_id=tasks.next_id,
                      replica=ReplicaChange(device, seq, frontier, {}, None, key.kept()), detail="kept the remote's key")

    def _decoded(self, path: str, data: bytes) -> Segment:
        """The segment a remote file holds, opened first when the remote is encrypted."""
        if self._key is not None:
            data = self._opened(path, data)
        return decode_segment(data, path)

    def _opened(self, path: str, data: bytes) -> bytes:
        """A sealed segment's plain bytes: with the remote's key, or the one this store kept before (what this
        device sealed for a remote it used before, or with a key another device's made obsolete)."""
        assert self._key is not None
        old = self._old_key
        if old is not None and sealed_by(data) == old.key_id:
            return old.open(path, data)
        return self._key.open(path, data)

    def _sealed(self, path: str, data: bytes) -> bytes:
        """A segment as the remote holds it: sealed with its key (again, if another key sealed it)."""
        if self._key is None:
            return data
        if sealed_by(data) is not None:
            data = self._opened(path, data)
        return self._key.seal(path, data)

    # -- 3. taking in ------------------------------------------------------------------------------------------

    def _take_in(self, head: str | None, report: SyncReport) -> None:
        if head is None:
            return
        replica = self._work.tasks.replica
        frontier = replica.frontier if replica is not None else None
        listing = self.mirror.files(head)
        wanted: dict[str, tuple[str, int]] = {}
        for path, (blob, size) in listing.items():
            parsed = parse_segment_path(path)
            if parsed is None:
                raise RemoteDamaged(f"the remote holds {path!r}, which is not a file of operations taskvault writes",
                                    hint="remove it from the remote's repository; nothing was changed here")
            device, first = parsed
            if frontier is None or first > frontier.get(device):
                wanted[path] = (blob, size)
        if replica is not None:  # this device's own first (put back from a backup, it takes its later ones back),
            own = f"ops/{replica.device}/"  # so that what others saw of them is known before theirs come in
            wanted = dict(sorted(wanted.items(), key=lambda item: not item[0].startswith(own)))
        history = _History(self, head)
        for batch in _batches(wanted):  # each its own append: a first sync of 200,000 tasks is not one record
            operations = [op for segment in self._read(batch) for op in segment.ops]

            def plan(tasks: TaskList, operations: list[Operation] = operations) -> Change:
                return self._integration(tasks, operations, history, report)

            saved = self._work.change(plan)
            if not saved.change.is_empty:
                report.revision = saved.revision
        self.mirror.mark(_SYNCED, head)  # only once taken in: a crash before it takes the same in again, to no effect

    def _read(self, wanted: Mapping[str, str]) -> list[Segment]:
        paths = sorted(wanted)
        blobs = self.mirror.read([wanted[p] for p in paths])
        return [self._decoded(path, data) for path, data in zip(paths, blobs, strict=True)]

    def _integration(self, tasks: TaskList, operations: list[Operation], history: _History,
                     report: SyncReport) -> Change:
        """The change that takes ``operations`` in, planned under the store lock against the latest tasks."""
        before = tasks.replica
        replica = before if before is not None else Replica(self._new_device)
        named = {op.task for op in operations}
        local = {task.uuid: task for task in tasks if task.uuid in named}
        result = integrate(replica, local, operations, fingerprint=fingerprint, history=history.of,
                           merge=self._merge)
        made_here = max(result.replica.seq, result.replica.frontier.get(replica.device))
        for op in operations:  # (an honest device saw only changes of this one that were made)
            if op.clock.get(replica.device) > made_here:
                raise RemoteDamaged(f"device {op.device}'s operation {op.seq} says it saw change "
                                    f"{op.clock.get(replica.device)} of this device, which made only {made_here}",
                                    hint="the remote was changed by hand or by another program; nothing more was "
                                    "taken from it")
        if replica.clean_at == tasks.revision and not any(_to_ship(synced) for _, synced in result.changed.values()):
            result = attrs.evolve(result, replica=attrs.evolve(result.replica, clean_at=tasks.revision + 1))
        change = _as_change(tasks, local, result, before)
        ids = {u: t.id for u, t in local.items()} | {t.uuid: t.id for t in change.put}
        report.received += result.taken
        report.updated += [ids[u] for u in result.updated if u in ids]
        report.deleted += [local[u].id for u in result.deleted if u in local]
        report.conflicts += [ids[u] for u in result.conflicts if u in ids]
        report.merged += [ids[u] for u in result.merged if u in ids]
        return change

    # -- 4. shipping -----------------------------------------------------------------------------------------

    def _ship(self, head: str | None, report: SyncReport) -> str | None:
        """The commit to push: the remote's, plus this device's segments not on it yet; None if there are none."""
        replica = self._work.tasks.replica
        pending = self._unpushed(head, replica)
        last_sent = self._last_sent(head, replica, pending) if replica is not None else 0
        if replica is not None and replica.seq > last_sent:
            raise SyncFailed(f"this device numbered {replica.seq - last_sent} changes "
                             f"that are neither on the remote nor in {self.mirror.path.name} (was it removed?), so "
                             "the other devices would miss them", hint="put sync.git back from a backup of the data "
                             "directory; nothing was sent or changed")
        with self._work.reading() as tasks:  # (the store lock only while the latest state is copied)
            held = tasks.copy()
        scanned_at = held.revision
        planned = self._plan_ship(held)
        files_to_add = dict(pending)
        if planned is not None and planned[1]:
            files_to_add.update({path: self._sealed(path, data)
                                 for path, data in encode_segments(planned[0].device, self._name, planned[1])})
        if self._new_key_file is not None:
            files_to_add[KEY_FILE] = self._new_key_file
        commit = None
        if files_to_add:
            commit = self.mirror.commit(head, files_to_add, f"taskvault sync from {self._name or 'a device'}")
            self.mirror.mark(_OUTGOING, commit)
        if planned is not None:
            after, ops = planned
            self._work.change(lambda tasks: self._shipped_change(tasks, after, ops, scanned_at))
            report.sent += len(ops)
        report.sent += self._pending_ops
        return commit

    def _last_sent(self, head: str | None, replica: Replica, pending: Mapping[str, bytes]) -> int:
        """The number of this device's last operation that the remote holds or this sync will send."""
        mine = f"ops/{replica.device}/"
        on_remote = self.mirror.files(head, mine) if head is not None else {}
        last = 0
        if on_remote:
            newest = max(on_remote)
            last = self._last_of(newest, self.mirror.read([on_remote[newest][0]])[0])
        for path, data in pending.items():
            if path.startswith(mine):
                last = max(last, self._last_of(path, data))
        return last

    def _last_of(self, path: str, data: bytes) -> int:
        """The number of the last operation a segment of this device's holds (its header's word for it)."""
        return segment_last(self._opened(path, data) if self._key is not None else data, path)

    def _plan_ship(self, tasks: TaskList) -> tuple[Replica, list[Operation]] | None:
        """This device's operations for what changed here, and its state once they are recorded; None when
        nothing changed here since the state said so (no task is looked at then)."""
        replica = tasks.replica
        if replica is not None and replica.clean_at == tasks.revision:
            return None
        after, ops = shipped(replica or Replica(self._new_device), {task.uuid: task for task in tasks}, fingerprint)
        return (after, ops) if ops or replica is not None else None

    def _shipped_change(self, tasks: TaskList, after: Replica, ops: list[Operation], scanned_at: int) -> Change:
        """Record ``ops`` as shipped (and, if no change came since they were numbered, that nothing else is
        left to ship), unless the replication state moved meanwhile: then the commit that holds them is never
        pushed, and the next sync numbers them again."""
        now = tasks.replica
        before_seq = ops[0].seq - 1 if ops else after.seq
        if (now.seq if now is not None else 0) != before_seq or (now is not None and now.device != after.device):
            raise SyncFailed("the store's sync state changed while this sync ran",
                             hint="nothing was sent; sync again")
        records = {op.task: after.tasks[op.task] for op in ops}
        clean_at = tasks.revision + 1 if tasks.revision == scanned_at else None
        return Change(ChangeKind.SYNC, next_id=tasks.next_id,
                      replica=ReplicaChange(after.device, after.seq, after.frontier, records, clean_at),
                      detail=f"sent {_changes(len(ops))}" if ops else "found nothing to send")

    def _unpushed(self, head: str | None, replica: Replica | None) -> dict[str, bytes]:
        """Segments the mirror holds that the remote lacks and that belong on it (files by path): this device's
        that a past sync recorded as shipped but could not push, and, after the remote changed, every segment
        the old one held or was to get, as far as this store took them in."""
        self._pending_ops = 0
        if replica is None:
            return {}
        known: dict[str, str] = {}
        for name in self.mirror.marks():
            if name == _OUTGOING or name.startswith(_CARRIED):
                commit = self.mirror.marked(name)
                if commit is not None and commit != head:
                    known.update({path: blob for path, (blob, _) in self.mirror.files(commit).items()})
        if not known:
            return {}
        on_remote = self.mirror.files(head) if head is not None else {}
        candidates: dict[str, tuple[str, int]] = {}
        for path, blob in known.items():
            parsed = parse_segment_path(path)
            if path in on_remote or parsed is None:
                continue
            limit = replica.seq if parsed[0] == replica.device else replica.frontier.get(parsed[0])
            if parsed[1] <= limit:  # (a segment numbered beyond: a crash's leftover, never recorded)
                candidates[path] = (blob, limit)
        paths = sorted(candidates)
        kept = {}
        for path, data in zip(paths, self.mirror.read([candidates[p][0] for p in paths]), strict=True):
            segment = self._decoded(path, data)
            if segment.last <= candidates[path][1]:
                self._pending_ops += len(segment.ops)
                kept[path] = data if self._key is None or sealed_by(data) == self._key.key_id \
                    else self._sealed(path, data)
        return kept

    # -- status ----------------------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        tasks = self._work.tasks
        replica = tasks.replica
        if replica is not None and replica.remote_key:
            self._key = SyncKey.from_kept(replica.remote_key)
        have_mirror = (self._directory / MIRROR_NAME).is_dir()
        remote = self.mirror.remote() if have_mirror else None
        if replica is None:
            unsynced = len(tasks)
            return SyncStatus(shown_url(remote) if remote else None, None, unsynced, 0, (), None)
        local = {task.uuid: task for task in tasks}
        unsynced = len(replica.unsynced(local, fingerprint))
        conflicts = tuple(sorted(local[u].id for u in replica.conflicts if u in local))
        unpushed = replica.seq - self._pushed_seq(replica) if have_mirror else replica.seq
        last = self.mirror.setting("last-sync") if have_mirror else None
        return SyncStatus(shown_url(remote) if remote else None, replica.device, unsynced, max(unpushed, 0),
                          conflicts, last)

    def _pushed_seq(self, replica: Replica) -> int:
        """The number of this device's last operation the remote held at the last sync."""
        seen = self.mirror.marked(_SYNCED)
        if seen is None:
            return 0
        mine = self.mirror.files(seen, f"ops/{replica.device}/")
        if not mine:
            return 0
        last = max(mine)
        return self._decoded(last, self.mirror.read([mine[last][0]])[0]).last


class _History:
    """Every known operation of a task, read from the remote's files when a conflict first asks (its common
    ancestor is shown beside both versions)."""

    def __init__(self, syncer: Syncer, head: str) -> None:
        self._syncer, self._head = syncer, head
        self._by_task: dict[uuid_module.UUID, list[Operation]] | None = None

    def of(self, task: uuid_module.UUID) -> list[Operation]:
        if self._by_task is None:
            listing = self._syncer.mirror.files(self._head)
            by_task: dict[uuid_module.UUID, list[Operation]] = {}
            for segment in self._syncer._read({p: b for p, (b, _) in listing.items()}):
                for op in segment.ops:
                    by_task.setdefault(op.task, []).append(op)
            self._by_task = by_task
        return self._by_task.get(task, [])


def _as_change(tasks: TaskList, local: Mapping[uuid_module.UUID, Task], result: Integration,
               before: Replica | None) -> Change:
    """The store's change for an integration: each changed task put under its id here (a new one for a task new
    here), removed, or left; and the replication state's change."""
    next_id = tasks.next_id
    put: list[Task] = []
    delete: list[int] = []
    for task_uuid, (body, _synced) in result.changed.items():  # (in the order taken in: as their device made them)
        here = local.get(task_uuid)
        if body is None:
            if here is not None:
                delete.append(here.id)
            continue
        if here is None:
            put.append(attrs.evolve(body, id=next_id))
            next_id += 1
        elif attrs.evolve(body, id=here.id) != here:
            put.append(attrs.evolve(body, id=here.id))
    return Change(ChangeKind.SYNC, put=tuple(put), delete=tuple(delete), next_id=next_id,
                  replica=ReplicaChange.between(before, result.replica), detail=f"took in {_changes(result.taken)}")


def _batches(wanted: Mapping[str, tuple[str, int]]) -> Iterator[dict[str, str]]:
    """The segments to take in, by device and number, in batches of about BATCH_BYTES (each device's in order,
    so each batch carries on where the one before stopped): what one append takes in, and memory holds."""
    batch: dict[str, str] = {}
    size = 0
    for path in sorted(wanted):
        blob, bytes_ = wanted[path]
        if batch and size + bytes_ > BATCH_BYTES:
            yield batch
            batch, size = {}, 0
        batch[path] = blob
        size += bytes_
    if batch:
        yield batch


def _changes(count: int) -> str:
    return f"{count} change{'' if count == 1 else 's'}"


def _to_ship(synced: Synced) -> bool:
    """True for a record whose task must be shipped at the next sync (a merge, an edit here equal to theirs,
    a conflict whose side here no other device has seen)."""
    return synced.fingerprint == MUST_SHIP or (synced.conflict is not None and not synced.conflict.mine_shipped)



