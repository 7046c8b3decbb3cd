"""The one rooted error hierarchy of taskvault.

Lower layers raise these; only the interface layers (cli, repl) turn them into
messages and exit codes. Each class also subclasses the builtin it resembles, so
callers that only know the builtins still catch them sensibly.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .exits import EXIT_BROKEN_PIPE, EXIT_OUTPUT_FAILED
from .limits import MAX_LISTED_IDS, MAX_QUOTED_CHARS

TYPE_CHECKING = False  # (typing.TYPE_CHECKING; datetime is imported where an error shows a time, not by `taskvault help`)
if TYPE_CHECKING:
    import datetime as dt


def shown(value: str, *, quote: bool = True) -> str:
    """A value the user gave, for a message: quoted (and so escaped) unless told not to, and only
    its start when it is long."""
    if len(value) > MAX_QUOTED_CHARS:
        start = value[:MAX_QUOTED_CHARS]
        return (repr(start) if quote else start) + f"… ({len(value):,} characters)"
    return repr(value) if quote else value


#: What a command is typed after where the user is: "taskvault " in a shell, nothing in the session.
_COMMAND_PREFIX: ContextVar[str] = ContextVar("command_prefix", default="taskvault ")


def typed(command: str) -> str:
    """``command`` as the user types it here, for a hint: ``taskvault list --all`` in a shell, ``list
    --all`` in the interactive session. Hints name commands only through this."""
    return _COMMAND_PREFIX.get() + command


def typed_in_session() -> bool:
    """True inside the interactive session, where taskvault's own options were set when it started."""
    return _COMMAND_PREFIX.get() == ""


@contextmanager
def commands_typed_bare() -> Iterator[None]:
    """Inside the interactive session: hints name commands without ``taskvault`` in front."""
    token = _COMMAND_PREFIX.set("")
    try:
        yield
    finally:
        _COMMAND_PREFIX.reset(token)


def describe_ids(task_ids: Iterable[int], separator: str = ", ") -> str:
    """Ids for a message, in order, runs of three or more as ranges, the first few and the count.

    ``[5, 6, …, 9999]`` → ``5-9999 (9995 in all)``; a short list is given whole: ``8, 9``.
    """
    ids = sorted(set(task_ids))
    runs: list[str] = []
    start = 0
    for index in range(1, len(ids) + 1):
        if index == len(ids) or ids[index] != ids[index - 1] + 1:
            first, last = ids[start], ids[index - 1]
            runs += [f"{first}-{last}"] if last - first >= 2 else [str(i) for i in range(first, last + 1)]
            start = index
    text = separator.join(runs[:MAX_LISTED_IDS]) + (f"{separator}…" if len(runs) > MAX_LISTED_IDS else "")
    return text if len(ids) <= 2 else f"{text} ({len(ids)} in all)"


def _when(at: dt.datetime | None) -> str:
    """' on 2026-12-05 at 14:03', in local time (UTC, said so, when the local zone cannot show it)."""
    if at is None:
        return ""
    try:
        return at.astimezone().strftime(" on %Y-%m-%d at %H:%M")
    except (ValueError, OverflowError, OSError):
        import datetime as dt

        return at.astimezone(dt.UTC).strftime(" on %Y-%m-%d at %H:%M UTC")


class TaskvaultError(Exception):
    """Base of every error taskvault raises on purpose."""

    #: A short, stable name for machine-readable output (``--json``).
    kind = "error"
    #: The exit status of a run this error ends (the statuses no error carries are in exits.py).
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: What the user can do about it, when there is something to say.
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(TaskvaultError):
    """The command line itself is malformed: unknown command or option, missing argument."""

    kind = "usage"
    exit_code = 2


class UnknownTag(UsageError):
    """``edit --tag -NAME`` names a tag the task does not have (a typo would otherwise change nothing, silently)."""

    kind = "unknown_tag"

    def __init__(self, task_id: int, tag: str, tags: Iterable[str]) -> None:
        has = ", ".join(tags)
        super().__init__(f"task {task_id} has no tag {tag!r} to remove",
                         hint=f"its tags are: {has}" if has else "it has no tags")


class InputTooLarge(UsageError):
    """A script, or one line of it, is longer than taskvault reads (see taskvault.limits)."""

    kind = "too_large"


class OutputFailed(TaskvaultError, OSError):
    """Standard output could not be written (a full disk, a reader that went away, a hung-up terminal)."""

    kind = "output_failed"
    exit_code = EXIT_OUTPUT_FAILED

    def __init__(self, cause: OSError) -> None:
        reader_gone = cause.errno == errno.EPIPE
        reason = "the program reading it went away" if reader_gone else (cause.strerror or str(cause))
        super().__init__(f"the output could not be written ({reason})")
        self.errno = cause.errno
        #: True when the reader went away (EPIPE): the usual end of ``taskvault list | head``.
        self.reader_gone = reader_gone
        if reader_gone:
            self.exit_code = EXIT_BROKEN_PIPE


class UserError(TaskvaultError, ValueError):
    """A well-formed request that cannot be carried out as asked."""

    kind = "invalid"


class InvalidValue(UserError):
    """A value given by the user breaks a rule of the task model."""

    kind = "invalid_value"


class TaskNotFound(UserError, LookupError):
    """A task id that does not exist (or no longer exists) in the store."""

    kind = "not_found"

    def __init__(self, task_ids: list[int],
                 deleted: dict[int, tuple[int, dt.datetime | None, str]] | None = None) -> None:
        """``deleted``: for ids a delete in the history removed, that change's revision, time and kind."""
        self.task_ids = task_ids
        gone = (deleted or {}).get(task_ids[0]) if len(task_ids) == 1 else None
        if gone is not None:
            revision, at, kind = gone
            how = "deleted" if kind == "delete" else f"removed by {kind}"
            super().__init__(f"task {task_ids[0]} was {how}{_when(at)} (revision {revision})",
                             hint=f"'{typed('history')}' shows the change; '{typed('list --all')}' shows the ids in use")
            return
        message = (f"no task with id {task_ids[0]}" if len(task_ids) == 1
                   else "no tasks with ids " + describe_ids(task_ids))
        super().__init__(message, hint=f"run '{typed('list --all')}' to see the ids in use")


class NoTaskMatches(UserError, LookupError):
    """A filter given to a command that changes tasks matches none of them: nothing was changed."""

    kind = "no_match"


class BackupNotFound(UserError, LookupError):
    """No backup matches what the user named."""

    kind = "backup_not_found"


class NothingToUndo(UserError):
    """undo or redo was asked for more steps than the history holds."""

    kind = "nothing_to_undo"


class StorageError(TaskvaultError, OSError):
    """The store could not be read, written or locked. Nothing was changed."""

    kind = "storage"
    exit_code = 3


class SaveFailed(StorageError):
    """A change could not be made durable; memory and disk are as they were before."""

    kind = "save_failed"


class SaveInDoubt(SaveFailed):
    """A save failed and so did taking it back: the change may or may not be on disk.

    The session that saw it saves nothing more; readers never apply the change once it is voided.
    """

    kind = "save_in_doubt"


class StoreReadOnly(StorageError):
    """The store is on a read-only file system: it can be read, not changed."""

    kind = "read_only"


class StoreLocked(StorageError):
    """Another process held the store's lock for longer than we were willing to wait."""

    kind = "locked"


class StoreUnreadable(StorageError):
    """The store exists but cannot be loaded: damaged, of the wrong shape, or not a file."""

    kind = "unreadable"


class StoreTooNew(StoreUnreadable):
    """The store was written by a newer taskvault whose format this version does not know."""

    kind = "too_new"


class BackupDamaged(StorageError):
    """A backup does not read back or decode as a store; it is not used."""

    kind = "backup_damaged"


class StoreUnsafe(StorageError):
    """The data directory or a store file is exposed to other users or is a symbolic link."""

    kind = "unsafe"


class StoreEncrypted(StorageError):
    """The store is encrypted and no passphrase (or keyring key) could be had to open it. Nothing was read."""

    kind = "encrypted"


class WrongPassphrase(StoreEncrypted):
    """The passphrase given does not open the store's key. Nothing was read or changed."""

    kind = "wrong_passphrase"


class TaskConflicted(UserError):
    """The task holds versions made on two devices that neither knew of (a sync conflict): it is changed
    only by ``resolve``, which chooses what it becomes."""

    kind = "conflicted"


class SyncFailed(TaskvaultError):
    """A sync could not be finished: the remote could not be reached, refused what was sent, or holds
    what taskvault will not take. Nothing was changed here; local work goes on as before."""

    kind = "sync_failed"
    exit_code = 5


class SyncNotSetUp(SyncFailed):
    """No remote is known yet: the first sync names one."""

    kind = "sync_not_set_up"


class GitUnavailable(SyncFailed):
    """The ``git`` program, which sync runs, is not installed or cannot be run."""

    kind = "git_unavailable"


class RemoteUnreachable(SyncFailed):
    """The remote did not answer, or the connection broke part-way (nothing of a cut transfer is used)."""

    kind = "remote_unreachable"


class RemoteDamaged(SyncFailed):
    """What the remote holds is not what taskvault wrote: a changed byte, a cut line, a file of another shape."""

    kind = "remote_damaged"


class RemoteRewritten(SyncFailed):
    """The remote lost operations it held before (a force-push, or another repository put in its place)."""

    kind = "remote_rewritten"


class StoreMoved(StorageError):
    """The store this session opened was moved, deleted, replaced by another or put back to an older revision.

    The session changes nothing more (it never creates a store where its store was): the user
    restarts taskvault, or points it at where the store is now.
    """

    kind = "store_moved"

    def __init__(self, directory: object, what: str) -> None:
        super().__init__(f"the store in {directory} {what} since this session opened it — nothing was changed",
                         hint="restart taskvault to use what is there now, or use --data-dir NEW if you moved it")
        self.directory = directory
