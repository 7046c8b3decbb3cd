"""The thin client of the resident taskvault: a one-shot command handed to a process that keeps the store loaded.

A one-shot command spends most of its time starting Python, importing the application and reading
the store (docs/performance.md). The resident process (resident_server.py) does that once and then
runs one-shot commands as a session runs its lines: under the store's lock, durable before it answers,
caught up with every other session first. This module is what each one-shot command runs before any
of that: it imports nothing but ``_socket``, finds the resident process of its own user, program and
settings, hands it the command line and its standard input, output and error (the descriptors
themselves, over the Unix socket), and waits for the exit status. The command runs in the resident
process exactly as it would here: its output goes straight to this process's terminal or pipe, a
question reads this terminal, Ctrl-C here interrupts it there.

When there is none, or it is not this program's (another version, other settings), the command runs
here as it always has, and a successful one starts a resident process for the next. After the
resident process has accepted a command, the command is never run here as well: if the resident
process ends before it says how the command ended, the outcome is unknown and this says so (exit 75).

TASKVAULT_RESIDENT=off turns it off; a number of seconds sets how long the resident process waits
idle before it ends (default 600). docs/resident.md says all of this for users.
"""

from __future__ import annotations

import os
import sys

from .. import __version__
from ..commands.settings import (
    CONFIG,
    CONFIG_HOME,
    DATA_DIR,
    ENVIRONMENT,
    HOME,
    NEW_PASSPHRASE_FILE,
    PASSPHRASE_FILE,
    RESIDENT,
    RUNTIME_DIR,
)

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from collections.abc import Mapping

#: The commands a resident process runs: those that read or change the store and name no file (a
#: file name would be read relative to another directory). tests/test_resident.py holds this to the catalog.
ROUTED = frozenset({"add", "list", "show", "edit", "done", "reopen", "delete", "undo", "redo", "history", "stats"})
#: taskvault's own options that may come before such a command (--data-dir, --script: never routed).
ROUTED_FLAGS = frozenset({"--json", "--no-color", "--no-pager"})
#: Those of them that take a value: ``--color=always`` (one word) or ``--color always`` (two). The value is
#: not checked here: the resident process refuses a bad one as a command run here would.
ROUTED_VALUED = frozenset({"--color"})
#: The environment that decides what a command does and where: a resident process serves only
#: commands run with exactly its own (taskvault's variables, the passphrase file and TASKVAULT_KEYRING among
#: them, where the user data directory and the crash log are, the locale, Python's own text settings, and
#: which OS keyring an encrypted store's key may come from: a command that could not reach that keyring
#: is not served by a resident process that opened the store with it).
KEYED_ENVIRONMENT = (*(variable.name for variable in ENVIRONMENT), "XDG_DATA_HOME", "XDG_STATE_HOME",
                     "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LOCPATH", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONPATH",
                     "DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")
DEFAULT_IDLE = 600.0
#: The protocol's name and version: the first field of every request.
PROTOCOL = "taskvault-resident/2"
#: Answers: the command is accepted (from now on it runs there, never here), or refused (run it here).
ACCEPTED, REFUSED = b"A", b"N"
#: The client's answer to ACCEPTED: run it. Until the resident process reads this, the command is not
#: run there, so a client that gives up waiting (or is interrupted) may run it here, or not at all.
GO = b"G"
#: How long a client waits for a resident process to take its command before running it itself (one
#: that is stopped, say, with SIGSTOP, or too busy to take it).
ACCEPT_TIMEOUT = 3.0
#: Sent by the client when it is interrupted (Ctrl-C): the command stops where a one-shot command would.
INTERRUPT = b"\x03"
#: A page: the resident process hands a result longer than the screen back, for the pager to run here, where
#: the terminal is (a pager it started could not read the keyboard properly). PAGE, the pager's command and
#: the text, each as 4 bytes of length then its bytes; the answer is PAGED once the pager has ended, or
#: NOT_PAGED, why, and a newline when it could not be started (the resident process then writes the text).
PAGE, PAGED, NOT_PAGED = b"P", b"D", b"F"
#: The longest text handed back for paging (a longer one is written directly).
MAX_PAGE = 256 * 1024 * 1024
#: The longest path a Unix socket can have on Linux (sun_path holds 108 bytes with the final NUL).
MAX_SOCKET_PATH = 107
#: The longest request a resident process reads (the command line is bounded by the system's ARG_MAX).
MAX_REQUEST = 8 * 1024 * 1024


def idle_seconds(env: Mapping[str, str]) -> float | None:
    """How long a resident process waits idle, from $TASKVAULT_RESIDENT; None when it is off, or
    when the value is not a number of seconds (the command then says so: cli/config.py)."""
    raw = env.get(RESIDENT.name, "").strip()
    if not raw:
        return DEFAULT_IDLE
    if raw.lower() in ("off", "0", "no", "false"):
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if 1 <= seconds <= 7 * 86_400 else None


#: The keyed variables that name a file or directory: a relative one names another place from each
#: directory a command is run in, and the resident process runs in / (start_server).
PATH_VARIABLES = (DATA_DIR.name, "HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "TZDIR", "PYTHONPATH",
                  CONFIG.name, CONFIG_HOME.name, PASSPHRASE_FILE.name, NEW_PASSPHRASE_FILE.name)
#: Those of them in which ~ is the command's HOME (cli/config.py, cli/passphrase.py): as absolute as HOME is.
_TILDE_VARIABLES = (DATA_DIR.name, PASSPHRASE_FILE.name, NEW_PASSPHRASE_FILE.name)


def depends_on_directory(env: Mapping[str, str]) -> bool:
    """True if a setting names a path relative to the current directory: such a command runs here."""
    for name in PATH_VARIABLES:
        value = env.get(name, "")
        if not value:
            continue  # (unset or empty: no path)
        absolute = ("/", "~") if name in _TILDE_VARIABLES else ("/",)  # (~-expanded, with HOME, itself checked)
        if any(not path.startswith(absolute) for path in (value.split(":") if name == "PYTHONPATH" else [value])):
            return True
    return False


def routed_command(argv: list[str]) -> str | None:
    """The command word, if the command line is one a resident process runs; else None."""
    tokens = iter(argv)
    for token in tokens:
        if token in ROUTED_FLAGS or token.partition("=")[0] in ROUTED_VALUED:
            if token in ROUTED_VALUED:
                next(tokens, None)  # (its value, the next word)
            continue
        return token if token in ROUTED else None
    return None


def identity(env: Mapping[str, str]) -> str:
    """Everything a resident process must share with a command to run it as that command would run here."""
    fields = [PROTOCOL, __version__, sys.executable, str(os.getuid()), str(sys.flags.utf8_mode)]
    fields += [f"{name}={env[name]}" if name in env else f"{name} unset" for name in KEYED_ENVIRONMENT]
    fields.append(_config_file_stamp(env))
    return "\n".join(fields)


def _config_file_stamp(env: Mapping[str, str]) -> str:
    """Which config file there is, as it is now: a resident process read its settings from the file as it was
    when it started, so a command runs there only while the file is the same one, unchanged (or still absent).
    (Where the file is found is config_file.config_location's rule, without its checks: a bad setting makes
    the keys differ, and the command then runs here, where it is refused.)"""
    given = env.get(CONFIG.name)
    config_home = env.get(CONFIG_HOME.name, "")
    home = env.get(HOME.name) or os.path.expanduser("~")  # (the command's own HOME, as its process would expand ~)
    if given is not None:
        path = home + given[1:] if given == "~" or given.startswith("~/") else given
    elif config_home.startswith("/"):
        path = os.path.join(config_home, "taskvault", "config.toml")
    else:
        path = os.path.join(home, ".config", "taskvault", "config.toml")
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return f"config {path} absent"
    return f"config {path} {info.st_dev}:{info.st_ino}:{info.st_mtime_ns}:{info.st_size}:{info.st_ctime_ns}"


def runtime_directory(env: Mapping[str, str]) -> str:
    """Where resident processes keep their sockets: $XDG_RUNTIME_DIR/taskvault, else /tmp/taskvault-UID."""
    base = env.get(RUNTIME_DIR.name, "")
    if base.startswith("/"):
        return os.path.join(base, "taskvault")
    return f"/tmp/taskvault-{os.getuid()}"


def private(directory: str) -> bool:
    """True if ``directory`` is a real directory of this user that no one else may enter."""
    import stat

    try:
        st = os.lstat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def socket_name(key: str) -> str:
    """The file name of the socket of the resident process for ``key`` (a checksum: two keys that share
    one are told apart when the process compares the whole key)."""
    import zlib

    return f"{zlib.crc32(key.encode('utf-8', 'surrogateescape')):08x}"


def _peer_uid(sock: object) -> int:
    import _socket

    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # type: ignore[attr-defined]
    return int.from_bytes(raw[4:8], sys.byteorder)


def encode_request(key: str, argv: list[str]) -> bytes:
    """The request: its length, then NUL-separated fields (no argument or variable can hold a NUL)."""
    body = "\0".join([PROTOCOL, key, str(len(argv)), *argv]).encode("utf-8", "surrogateescape")
    return len(body).to_bytes(4, "big") + body


class Relay:
    """How a command line fared at the resident process: ``status`` is its exit status when it ran
    there; otherwise ``start`` says whether a successful run here should start one."""

    __slots__ = ("start", "status")

    def __init__(self, status: int | None, start: bool) -> None:
        self.status = status
        self.start = start


NOT_ROUTED = Relay(None, False)


def relay(argv: list[str]) -> Relay:
    """Run ``argv`` in the resident process if there is one for it; see the module's docstring."""
    env = os.environ
    if routed_command(argv) is None or idle_seconds(env) is None or depends_on_directory(env):
        return NOT_ROUTED
    directory = runtime_directory(env)
    if not private(directory):  # (a resident process makes it, if it is not there and can be; else none is used)
        return Relay(None, not os.path.lexists(directory) and os.path.isdir(os.path.dirname(directory)))
    key = identity(env)
    path = os.path.join(directory, socket_name(key) + ".sock")
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:  # (no socket can have this name: no resident process either)
        return NOT_ROUTED
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.settimeout(ACCEPT_TIMEOUT)
    committed = False
    try:
        try:
            sock.connect(path)
            if _peer_uid(sock) != os.getuid():
                return Relay(None, False)
            sock.sendall(encode_request(key, argv))
            answer = sock.recv(1)
            if answer == ACCEPTED:  # (from here on it runs there, and only there): GO, and this process's
                # standard input, output and error, only now: sent with the request, they would stay held
                # in a socket a stopped resident process never reads, and a pipe reading them would never end
                fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
                sock.sendmsg([GO], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
                committed = True
        except TimeoutError:  # (a resident process that does not answer: stopped, or stuck; one it would
            return Relay(None, False)  # start would find it holding the lock, and end)
        except OSError:
            return Relay(None, True)
        except KeyboardInterrupt:  # (not taken yet: it runs nothing once this socket is closed without GO)
            if not committed:
                return Relay(_interrupted(), False)
            try:
                sock.sendall(INTERRUPT)  # (taken: the interrupt is its to feel)
            except OSError:
                pass
        if answer != ACCEPTED:  # (refused: another program's, or one about to end; a new one ends at once
            return Relay(None, True)  # if another still serves these settings)
        sock.settimeout(None)
        return Relay(_wait(sock), False)  # (None: it could not run it after all, and it runs here)
    finally:
        sock.close()


def _wait(sock: object) -> int | None:
    """The exit status the resident process sends once the command has ended; Ctrl-C is passed on, and a
    page it hands back is shown here (PAGE). None when it could not run the command after all (its
    descriptors could not be made streams): run it here."""
    received = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 16)  # type: ignore[attr-defined]
        except KeyboardInterrupt:
            try:
                sock.sendall(INTERRUPT)  # type: ignore[attr-defined]
            except OSError:
                pass
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        received += chunk
        if received == REFUSED:
            return None
        if received[:1] == PAGE:
            page = _page(received)
            if page is None:
                continue  # (not all here yet)
            if not isinstance(page, tuple):  # (not a page it could send)
                return _unknown()
            answer, size = page
            try:
                sock.sendall(answer)  # type: ignore[attr-defined]
            except OSError:
                pass
            del received[:size]
            continue
        if received.endswith(b"\n") or len(received) > 16:
            status = bytes(received[1:-1])
            if received[:1] == b"X" and status.isdigit() and len(status) <= 3 and int(status) <= 255:
                return int(status)
            return _unknown()  # (not an answer a resident process gives: never read as success)
    return _unknown()


def _page(received: bytearray) -> tuple[bytes, int] | bool | None:
    """Show the PAGE at the start of ``received`` through its pager: (the answer, the PAGE's size); None
    while it has not all arrived; False when it is not one (too long)."""
    if len(received) < 5:
        return None
    end = 5 + int.from_bytes(received[1:5], "big")
    if len(received) < end + 4:
        return None
    size = int.from_bytes(received[end:end + 4], "big")
    if end > 4096 or size > MAX_PAGE:
        return False
    if len(received) < end + 4 + size:
        return None
    from .pager import run_pager  # (only when a page comes: the resident fast path imports _socket alone)

    command = bytes(received[5:end]).decode("utf-8", "surrogateescape")
    problem = run_pager(command, bytes(received[end + 4:end + 4 + size]))
    answer = PAGED if problem is None else NOT_PAGED + problem.encode("utf-8", "backslashreplace")[:4000] + b"\n"
    return answer, end + 4 + size


def _interrupted() -> int:
    """Ctrl-C before the resident process took the command: it ends as a one-shot command interrupted
    before it began (cli/main.py's _main)."""
    from ..exits import EXIT_INTERRUPTED

    try:
        sys.stderr.write("\ntaskvault: interrupted\n")
        sys.stderr.flush()
    except (OSError, AttributeError, ValueError):
        pass
    return EXIT_INTERRUPTED


def _unknown() -> int:
    from ..exits import EXIT_OUTCOME_UNKNOWN

    try:
        sys.stderr.write("taskvault: the resident taskvault process ended before it said how the command ended; "
                         "a change it was making was saved whole or not at all: 'taskvault history' shows which\n")
        sys.stderr.flush()
    except (OSError, AttributeError, ValueError):
        pass
    return EXIT_OUTCOME_UNKNOWN


def start_server() -> None:
    """Start a resident process for this user, program and settings, in the background, detached.

    It ends by itself when another already serves them, or after $TASKVAULT_RESIDENT seconds idle.
    """
    import subprocess

    try:
        subprocess.Popen([sys.executable, "-P", "-m", "taskvault.cli.resident_server"], cwd="/",
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        pass  # (no resident process: every command runs as before)
