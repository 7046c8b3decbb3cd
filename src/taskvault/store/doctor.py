"""Checking a store and everything around it, without changing anything.

Each check gives Findings: ``ok``, ``warning`` (works, but deserves attention) or ``problem``
(something is wrong), each with what to do about it. Nothing here writes or prints.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .. import codec
from ..errors import InvalidValue, StorageError, StoreEncrypted, typed
from . import files, layout

if TYPE_CHECKING:
    from .journal_store import JournalStore

#: Free space below this (or twice the store, if larger) is a problem: a compaction could not finish.
MIN_FREE_BYTES = 64 * 1024 * 1024


@attrs.frozen
class Finding:
    level: str  # ok, warning or problem
    subject: str
    text: str
    fix: str = ""


def examine(store: JournalStore) -> list[Finding]:
    """Every check, in the order a person would look. Opens nothing that could make it wait."""
    directory = store.directory
    try:
        os.lstat(directory)
    except FileNotFoundError:
        return [Finding("ok", "store", f"there is no store in {directory} yet; the first change creates it")]
    except OSError:
        pass  # a name too long, a parent that is a file: the directory check says what
    findings = _directory(directory)
    refused = any(f.level == "problem" for f in findings)  # then the store refuses to load, as just said
    if refused and not os.path.isdir(directory):
        return findings  # nothing inside to look at
    findings += [*([] if refused else _load(store)), *_entries(store), *_temp_files(store), *_kept_aside(directory),
                 *_backups(store), _free_space(store), _lock_holder(store)]
    return findings


def _directory(directory: Path) -> list[Finding]:
    try:
        layout.check_data_directory(directory)  # the store's own rule, not a copy of it
        info = os.stat(directory)
    except StorageError as exc:
        return [Finding("problem", "directory", exc.message, exc.hint or "")]
    except OSError as exc:
        return [Finding("problem", "directory", f"cannot look at {directory}: {exc.strerror}",
                        "check the path and its permissions")]
    where = f"{directory} (mode {stat.S_IMODE(info.st_mode):o})"
    if directory.is_symlink():
        where += f", a link to {directory.resolve()}"
    found = [Finding("ok", "directory", where)]
    found += _readable_by_others(directory, info, "directory")
    return found


def _readable_by_others(path: Path, info: os.stat_result, subject: str) -> list[Finding]:
    if not info.st_mode & 0o077:
        return []
    return [Finding("warning", subject, f"{path} can be read by others (mode {stat.S_IMODE(info.st_mode):o})",
                    f"chmod 700 {layout.quoted(path)}")]


def _load(store: JournalStore) -> list[Finding]:
    try:
        tasks = store.load()
        codec.encode_tasklist(tasks)  # every line as a compaction copies it: as written, in order, below next_id
        tasks.snapshot()  # every task decoded, even those no change would read (a sealed store loads them when used)
        list(tasks.history)  # and every step of the history, which only undo, redo and history read otherwise
    except StorageError as exc:
        return [Finding("problem", "store", exc.message, exc.hint or "")]  # names the backup to restore
    open_count, done_count = tasks.counts()
    found = [Finding("ok", "store", f"loads: {open_count} open and {done_count} done tasks at revision "
                                    f"{tasks.revision} ({len(tasks.history)} change{'s' if len(tasks.history) != 1 else ''} "
                                    "of history)")]
    if store.voided:
        count = len(store.voided)
        found.append(Finding("warning", "journal", f"{count} change{'s' if count > 1 else ''} reported as failed "
                             f"{'are' if count > 1 else 'is'} voided in the journal (at byte "
                             f"{', '.join(map(str, store.voided[:5]))}{', …' if count > 5 else ''}); never applied",
                             "nothing to do: the next compaction drops them"))
    if store.unfinished:
        found.append(Finding("warning", "journal", f"the journal ends in {store.unfinished} bytes of a change that "
                             "was never confirmed (a save that was interrupted, or reported as failed); "
                             "it is left out", "nothing to do: the next change removes them"))
    found += _encryption(store)
    if store.read_only is not None:
        found.append(Finding("warning", "schema", store.read_only.message, store.read_only.hint or ""))
    elif store.needs_migration:
        found.append(Finding("warning", "schema", f"the store is of an older schema than {codec.SCHEMA}",
                             f"any command that loads it upgrades it, after a backup (run '{typed('list')}')"))
    return found


def _encryption(store: JournalStore) -> list[Finding]:
    """Whether the store is encrypted, how its key is kept, and whether its journal and backups are in its form."""
    from .cipher import slot_of

    cipher = store.cipher
    try:
        backups = store.backups.list()
    except StorageError:
        backups = []  # (the backups check says why)
    if cipher is None:
        sealed = [b.id for b in backups if b.encrypted]
        if not sealed:
            return [Finding("ok", "encryption", "the store is not encrypted (docs/encryption.md says how and why "
                                                "to encrypt it)")]
        return [Finding("warning", "encryption", f"the store is not encrypted, but {len(sealed)} of its backups are "
                        f"({', '.join(sealed[:3])}{', …' if len(sealed) > 3 else ''})",
                        f"run '{typed('decrypt')}' again to decrypt them (their passphrase is asked for)")]
    kept = "a passphrase" + (" and the system keyring" if slot_of(cipher.slots, "keyring") else "")
    found = [Finding("ok", "encryption", f"the store is encrypted (AES-256-GCM); its key is kept by {kept}")]
    plain = [b.id for b in backups if not b.encrypted]
    if plain:
        found.append(Finding("problem", "encryption", f"{len(plain)} backup{'s are' if len(plain) > 1 else ' is'} not "
                             f"encrypted ({', '.join(plain[:3])}{', …' if len(plain) > 3 else ''}): whoever reads "
                             "the files can read them", f"run '{typed('encrypt')}' again to encrypt them"))
    if store.plain_journal:
        found.append(Finding("warning", "encryption", "the journal still holds plain records (an encrypt that was "
                             "interrupted); the snapshot holds them all, encrypted",
                             f"the next change replaces it; or run '{typed('encrypt')}' again"))
    return found


def _entries(store: JournalStore) -> list[Finding]:
    """Each store file: a private regular file of yours, with no other name (hard link) anywhere."""
    found = []
    for path in (store.snapshot_path, store.journal_path, store.directory / layout.LOCK_NAME):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            found.append(Finding("problem", "permissions", f"cannot look at {path.name}: {exc.strerror}",
                                 "check the data directory's permissions"))
            continue
        found += _entry(path, info)
    return found or [Finding("ok", "permissions", "the store files are private (0600)")]


def _entry(path: Path, info: os.stat_result) -> list[Finding]:
    mode = info.st_mode
    lock = path.name == layout.LOCK_NAME
    if stat.S_ISLNK(mode):
        return [Finding("problem", "permissions", f"{path.name} is a symbolic link; taskvault does not follow it",
                        f"rm {layout.quoted(path)} (the lock holds no data)" if lock
                        else "replace the link with the file it points to")]
    if not stat.S_ISREG(mode):
        then = ("it holds no data, and taskvault makes a new one" if lock
                else "then restore a backup, or start an empty store")
        return [Finding("problem", "permissions", f"{path.name} is {files.kind_of(mode)}, not a regular file",
                        layout.move_aside_hint(path, then))]
    found = []
    if info.st_uid not in (os.geteuid(), 0):
        found.append(Finding("problem", "permissions", f"{path.name} belongs to another user (uid {info.st_uid})",
                             f"as root: chown {_user_name()} {layout.quoted(path)}"))
    if mode & 0o077:
        found.append(Finding("warning", "permissions", f"{path.name} can be read by others "
                             f"(mode {stat.S_IMODE(mode):o})", f"chmod 600 {layout.quoted(path)}"))
    if info.st_nlink > 1 and not lock:
        # The journal is appended to in place: every other name of it changes with it.
        effect = ("changes with every change saved" if path.name == layout.JOURNAL_NAME
                  else "is a copy taskvault no longer updates once it replaces the file")
        others = info.st_nlink - 1
        found.append(Finding("warning", "permissions", f"{path.name} has {others} other name{'s' if others != 1 else ''} "
                             f"(a hard link), which {effect}", f"find it with: find {layout.quoted(_mount_of(path))} "
                             f"-xdev -samefile {layout.quoted(path)}; remove it, or copy the file instead of linking it"))
    return found


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _mount_of(path: Path) -> Path:
    """The mount point of the file system ``path`` is on: where its other names (hard links) can be."""
    here = path.parent
    while not os.path.ismount(here) and here != here.parent:
        here = here.parent
    return here


def _temp_files(store: JournalStore) -> list[Finding]:
    targets = [store.snapshot_path, store.journal_path]
    left = [e.name for e in os.scandir(store.directory) if any(files.is_temp_of(e.name, t) for t in targets)]
    try:
        left += [f"backups/{name}" for name in store.backups.leftover_temp_files()]
    except (StorageError, OSError):
        pass  # the backups check reports what is wrong with that directory
    if not left:
        return [Finding("ok", "temp files", "none left over")]
    return [Finding("warning", "temp files", f"{len(left)} left by an interrupted save: {', '.join(sorted(left))}",
                    "harmless; the next change removes the store's, or delete them")]


def _kept_aside(directory: Path) -> list[Finding]:
    aside = sorted(e.name for e in os.scandir(directory) if ".unreadable-" in e.name)
    if not aside:
        return []
    return [Finding("warning", "kept aside", f"unreadable files kept by a restore or salvage: {', '.join(aside)}",
                    "taskvault never deletes them; remove them once you no longer need them")]


def _backups(store: JournalStore) -> list[Finding]:
    try:
        backups = store.backups.list()
    except StorageError as exc:
        return [Finding("problem", "backups", exc.message, exc.hint or "")]
    if not backups:
        return [Finding("warning", "backups", "there are no backups yet", f"take one with: {typed('backup')}")]
    found = []
    for backup in backups:
        try:
            codec.decode_snapshot(store.backups.read(backup))
        except StoreEncrypted as exc:  # a good backup, maybe: only its key is missing here
            found.append(Finding("warning", "backups", f"backup {backup.id} is encrypted and was not checked: "
                                 f"{exc.message}", "give its passphrase (TASKVAULT_PASSPHRASE_FILE) to check it"))
        except (codec.FormatError, InvalidValue, StorageError) as exc:
            found.append(Finding("problem", "backups", f"backup {backup.id} is damaged: {exc}",
                                 f"it will not be used; remove it: rm {layout.quoted(backup.path)}"))
    found += _readable_by_others(store.backups.directory, os.lstat(store.backups.directory), "backups")
    good = len(backups) - len([f for f in found if f.level == "problem"])
    newest = backups[0]
    found.insert(0, Finding("ok" if good else "problem", "backups",
                            f"{good} of {len(backups)} verified; newest {newest.id} ({newest.revision_text})",
                            "" if good else f"take a new one with: {typed('backup')}"))
    return found


def _free_space(store: JournalStore) -> Finding:
    sizes = [os.lstat(p) for p in (store.snapshot_path, store.journal_path) if os.path.lexists(p)]
    size = sum(info.st_size for info in sizes if stat.S_ISREG(info.st_mode))
    needed = max(MIN_FREE_BYTES, 2 * size)
    free = shutil.disk_usage(store.directory).free
    text = f"{free / 2**20:,.0f} MiB free on the store's disk"
    if free < needed:
        return Finding("problem", "disk space", text + f"; at least {needed / 2**20:,.0f} MiB are needed to "
                       "compact and back up safely", "free some disk space")
    return Finding("ok", "disk space", text)


def _lock_holder(store: JournalStore) -> Finding:
    lock = store.directory / layout.LOCK_NAME
    try:
        inode = os.lstat(lock).st_ino
    except FileNotFoundError:
        return Finding("ok", "lock", "not held")
    holders = []
    try:
        with open("/proc/locks", encoding="ascii") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
                    holders.append(parts[4])
    except OSError:
        return Finding("ok", "lock", "cannot tell who holds it on this system")
    holders = [pid for pid in holders if pid != str(os.getpid())]
    if not holders:
        return Finding("ok", "lock", "not held")
    names = ", ".join(f"{pid} ({_command_of(pid)})" for pid in holders)
    return Finding("warning", "lock", f"held by process {names}",
                   "another taskvault is saving or open; it releases the lock when it finishes")


def _command_of(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return "gone"
    return " ".join(w.decode(errors="replace") for w in words if w)[:60] or "?"
