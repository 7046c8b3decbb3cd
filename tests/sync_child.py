"""A sync (and local changes) in a process of its own, for sync's kill and concurrency tests.

``python -m tests.sync_child DIR ACTION...`` runs each ACTION against the store in DIR and prints one
line per acknowledged step, flushed: ``ACK <action> ...`` once it is durable, ``FAIL <ErrorClass>
<message>`` and the error's exit code when sync refuses. An ACTION is a command line (``add x``,
``edit 1 --title y``), ``sync``, ``sync=URL`` or ``sync+merge``; ``syncs=N`` syncs N times; ``sync?``
syncs and goes on after a refusal (two devices syncing in a loop).

With SYNC_CHILD_PAUSE=1 it stops at every step a kill can fall between — before each fsync and
fdatasync, after each rename, before each git process starts and while it runs — printing ``STEP n
what [pid]`` and reading one byte from standard input before it goes on: the parent kills it at the
step it chooses, with no sleep (tests/test_sync_faults.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _install_pauses() -> None:
    counter = [0]

    def step(what: str) -> None:
        counter[0] += 1
        _say(f"STEP {counter[0]} {what}")
        if not os.read(0, 1):  # the parent went away: stop here, as a kill would
            os._exit(99)

    real_fsync, real_fdatasync, real_replace, real_rename = os.fsync, os.fdatasync, os.replace, os.rename

    def fsync(fd: int) -> None:
        step("fsync")
        real_fsync(fd)

    def fdatasync(fd: int) -> None:
        step("fdatasync")
        real_fdatasync(fd)

    def replace(*args: object, **kwargs: object) -> None:
        real_replace(*args, **kwargs)  # type: ignore[arg-type]
        step("rename")

    def rename(*args: object, **kwargs: object) -> None:
        real_rename(*args, **kwargs)  # type: ignore[arg-type]
        step("rename")

    class PausedPopen(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: list[str], *rest: object, **kwargs: object) -> None:
            words = [a for a in args if not a.startswith("-") and "=" not in a and "/" not in a]
            what = words[1] if len(words) > 1 else "?"
            step(f"exec git-{what}")
            super().__init__(args, *rest, **kwargs)  # type: ignore[arg-type]
            step(f"running git-{what} {self.pid}")

    os.fsync, os.fdatasync, os.replace, os.rename = fsync, fdatasync, replace, rename  # type: ignore[assignment]
    subprocess.Popen = PausedPopen  # type: ignore[misc]


def main(argv: list[str]) -> int:
    os.environ["TASKVAULT_RESIDENT"] = "off"
    from taskvault.errors import SyncFailed
    from tests.conftest import Session

    directory, actions = Path(argv[0]), argv[1:]
    session = Session(directory)
    session.service.tasks
    if os.environ.get("SYNC_CHILD_PAUSE"):
        _install_pauses()
    for action in actions:
        if action.startswith("sync"):
            name, _, value = action.partition("=")
            go_on = name.endswith("?")
            name = name.rstrip("?")
            for _ in range(int(value) if name == "syncs" else 1):
                try:
                    report = session.service.sync(value if name == "sync" and value else None,
                                                  merge_fields=name == "sync+merge")
                except SyncFailed as exc:
                    _say(f"FAIL {type(exc).__name__} {exc}")
                    if go_on:
                        continue
                    return exc.exit_code
                _say(f"ACK sync sent={report.sent} received={report.received}")
        else:
            if session.run(action) != 0:
                _say(f"FAIL command {action}: {session.err.getvalue().strip()}")
                return 1
            _say(f"ACK {action}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
