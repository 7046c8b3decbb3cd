"""The installed program on a real terminal of a chosen size (tmux), read back as the screen a person sees."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .conftest import require_tool

#: The longest a screen may take to show what a test waits for: generous, as a loaded CI machine
#: runs several one-shot commands behind one screen (a deadline costs nothing when the screen is there).
TIMEOUT = 30.0


class Tmux:
    """One tmux server with one window of ``columns`` x ``rows`` running ``command`` (a shell line)."""

    def __init__(self, command: str, *, columns: int, rows: int, data_dir: Path, state: Path) -> None:
        require_tool("tmux")
        self.socket = f"taskvault-test-{os.getpid()}-{os.urandom(6).hex()}"  # (id(self) is reused once freed)
        env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
               "HOME": str(state), "TERM": "xterm", "LC_ALL": "C.UTF-8", "TASKVAULT_DATA_DIR": str(data_dir),
               "XDG_STATE_HOME": str(state), "TASKVAULT_RESIDENT": "off"}  # no COLUMNS: the width is the terminal's own
        env |= {key: os.environ[key] for key in ("PYTHONPATH",) if key in os.environ}  # (a tree to test instead)
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        script = f"env -i {exports} bash --norc --noprofile -c {shlex.quote(command + '; echo [exit $?]')}; sleep 600"
        self._tmux("new-session", "-d", "-x", str(columns), "-y", str(rows), script)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT).stdout

    def rows(self, *, joined: bool = False) -> list[str]:
        """The window's rows, scrollback included; ``joined`` puts rows the terminal wrapped back together."""
        text = self._tmux("capture-pane", "-p", *(["-J"] if joined else []), "-S", "-", "-t", "0")
        lines = [line.rstrip() for line in text.splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def wait_for(self, seen: Callable[[list[str]], bool], what: str) -> list[str]:
        """Poll the screen until ``seen`` holds (a deadline, not a sleep); the screen then."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            rows = self.rows()
            if seen(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n" + "\n".join(rows))
            time.sleep(0.02)  # polling the screen for a condition, not waiting for time to pass

    def type(self, text: str, *keys: str) -> None:
        """Type ``text`` literally, then press ``keys`` (tmux names: Enter, Tab)."""
        if text:
            self._tmux("send-keys", "-t", "0", "-l", text)
        for key in keys:
            self._tmux("send-keys", "-t", "0", key)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True, timeout=TIMEOUT)
