"""The resident taskvault process: keeps one store loaded and runs the one-shot commands sent to it.

Started in the background by a one-shot command that found none (resident_client.start_server), as
``python -P -m taskvault.cli.resident_server``, with that command's environment. It serves commands
of the same user, program and settings only (resident_client.identity): its socket is in a directory
only this user may enter, it checks each caller's user id, and it refuses a request whose identity
differs from its own. A command runs here as cli/main.py runs it in its own process, with the
caller's standard input, output and error (passed over the socket), through the same Runner, against a
service that lives as long as this process: like an interactive session's, it catches up with other
sessions before each command, saves each change durably before it answers, and does its housekeeping
in the background after the answer. An encrypted store is opened as a command with no terminal opens
it (the passphrase file, the OS keyring: cli/passphrase.py's UnattendedPassphrases), its key kept in memory.

It ends by itself: when another process already serves these settings (a lock file), after
$TASKVAULT_RESIDENT seconds without a command, when the program's files change (another version's
callers never reach it, their identity differs; a file edited in place ends it after the command that
notices), when its store's directory is no longer the one it loaded, when the store's key or slots
or the passphrase file it was opened with change (rekey, decrypt, encrypt elsewhere), or on SIGTERM.
It never prints: it has no terminal of its own.
"""

from __future__ import annotations

import array
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..exits import EXIT_INTERRUPTED
from . import resident_client as client
from .main import Services

if TYPE_CHECKING:
    from ..service import Retention, TaskService
    from .pager import Paging
    from .progress import Progress

#: How long a caller may take to send its request once connected.
REQUEST_TIMEOUT = 5.0


def _readable(fds: list[int], timeout: float | None) -> list[int]:
    """Which of ``fds`` can be read now, waiting up to ``timeout`` seconds (None: until one can). poll, not
    select: a long-lived process may hold descriptors past select's limit of 1024."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ in poller.poll(None if timeout is None else max(0, int(timeout * 1000)))]


class Cancelled:
    """Ctrl-C at the caller, felt here where a one-shot command would feel it: while it waits for the
    lock, while it asks a question, and when it writes its output. Each Ctrl-C the caller sends is one
    KeyboardInterrupt here, as each is one SIGINT there; a caller that has gone (its socket closed), or
    this process ending (SIGTERM), is an interrupt at every such point from then on."""

    def __init__(self, conn: socket.socket, ending: int) -> None:
        self.conn = conn
        #: Readable once this process is ending (a socket written to then, never read).
        self.ending = ending
        self.gone = False

    def check(self) -> None:
        if not self.gone:
            readable = _readable([self.conn.fileno(), self.ending], 0)
            if not readable:
                return
            if self.ending in readable:
                self.gone = True
            else:
                try:
                    sent = self.conn.recv(64)
                except OSError:
                    sent = b""
                self.gone = not sent
        raise KeyboardInterrupt


class CallerInput:
    """The caller's standard input, read as ask.line_asker reads it; Ctrl-C at the caller ends the read."""

    def __init__(self, stream: TextIO, cancel: Cancelled) -> None:
        self._stream = stream
        self._cancel = cancel

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def readline(self) -> str:
        while True:
            self._cancel.check()
            watched = [self._stream.fileno(), self._cancel.conn.fileno(), self._cancel.ending]
            readable = _readable(watched, None)
            if self._stream.fileno() in readable:
                return self._stream.readline()


class CallerOutput:
    """The caller's standard output: every write first checks that the caller still wants it."""

    def __init__(self, stream: TextIO, cancel: Cancelled) -> None:
        self._stream = stream
        self._cancel = cancel

    def write(self, text: str) -> int:
        self._cancel.check()
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stream(fd: int, mode: str) -> TextIO:
    from .main import _prepare

    encoding = sys.stdout.encoding if sys.stdout is not None else "utf-8"
    stream: TextIO = open(fd, mode, encoding=encoding, errors="backslashreplace", closefd=True)  # type: ignore[assignment]  # noqa: SIM115
    _prepare(stream)
    return stream


def _code_paths() -> list[str]:
    """Every source file and directory of the program (a directory's time changes when a file is added)."""
    package = Path(__file__).resolve().parent.parent
    found = []
    for root, _, names in os.walk(package):
        found.append(root)
        found += [os.path.join(root, name) for name in names if name.endswith(".py")]
    return found


def _code_stamp(paths: list[str]) -> list[tuple[int, int, int] | None]:
    """(inode, size, mtime) of each of ``paths``, to notice an upgrade or an edit: about 0.3 ms for 90."""
    stamps: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return stamps


def _identity_of(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class Request:
    """One command being run: its caller's socket and streams."""

    def __init__(self, conn: socket.socket, argv: list[str], fds: list[int], ending: int) -> None:
        self.conn = conn
        self.argv = argv
        self.cancel = Cancelled(conn, ending)
        raw_in, raw_out, raw_err = (_stream(fds[0], "r"), _stream(fds[1], "w"), _stream(fds[2], "w"))
        self.stdin = CallerInput(raw_in, self.cancel)
        self.out = CallerOutput(raw_out, self.cancel)
        self.err = raw_err
        self._raw = (raw_in, raw_out, raw_err)

    def close(self) -> None:
        for stream in self._raw:
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class ResidentServices(Services):
    """The service of the resident process's store, lent to each command and kept between them."""

    in_session = True

    def __init__(self, server: Server) -> None:
        self._server = server

    def open(self, directory: Path, *, timeout: float, retention: Retention, err: TextIO,
             progress: Progress | None = None) -> TaskService:
        # (``progress`` is not its service's: the store was loaded, and any upgrade made, when the process began)
        server = self._server
        if directory != server.directory or timeout != server.timeout or retention != server.retention:
            raise RuntimeError("a resident process was sent a command for other settings")  # (identity prevents it)
        return server.service

    def done(self, service: TaskService) -> None:
        pass  # (it stays open for the next command)

    def pager(self, command: str, out: TextIO) -> Paging:
        """A long result goes back to the caller, whose process runs the pager: it owns the terminal, and a
        pager started here could not read the keyboard properly (it is not in the terminal's foreground)."""
        request = self._server._local.request
        return lambda text: _hand_back(request, command, out, text)


def _hand_back(request: Request, command: str, out: TextIO, text: str) -> bool | str:
    """Send ``text`` to the caller to page (resident_client.PAGE) and wait until its pager has ended: what
    the command does next (a warning on standard error) must not write over the pager's screen."""
    from .pager import longer_than_screen

    if not longer_than_screen(text, out.fileno()):
        return False
    data = text.encode(out.encoding, getattr(out, "errors", None) or "strict")
    name = command.encode("utf-8", "surrogateescape")
    if len(data) > client.MAX_PAGE or len(name) > 4096:
        return False
    request.cancel.check()  # (a Ctrl-C already sent: interrupted before its output, as a write would be)
    conn = request.conn
    try:
        conn.sendall(client.PAGE + len(name).to_bytes(4, "big") + name + len(data).to_bytes(4, "big") + data)
        answer = b""
        while not answer.endswith(b"\n") and answer != client.PAGED:
            chunk = conn.recv(1)
            if not chunk:
                break
            if chunk == client.INTERRUPT and not answer:
                continue  # (a Ctrl-C sent before the page arrived there: the pager had it)
            answer += chunk
            if len(answer) > 4096:
                break
    except OSError:
        answer = b""
    if answer == client.PAGED:
        return True
    if answer.startswith(client.NOT_PAGED) and answer.endswith(b"\n"):
        return answer[1:-1].decode("utf-8", "replace")
    request.cancel.gone = True  # (the caller is gone: as at any write, the command is interrupted)
    raise KeyboardInterrupt


class _Ending(BaseException):
    """SIGTERM: not an error but the end, raised in the main thread where it waits for callers (as
    SystemExit is a BaseException), so that no handler of errors takes it for one."""


class Server:
    """Serves one user's commands for one store and one set of settings; see the module's docstring.

    Each command runs in a thread of its own, so that one waiting on its caller (a question not yet
    answered, output a pager has not read) holds up no other; the service keeps their use of the store
    one at a time (its unit of work's lock), as it keeps a session's and its housekeeping thread's.
    """

    def __init__(self) -> None:
        from . import config
        from .main import _waiting_notice

        env = os.environ
        self.key = client.identity(env)
        idle = client.idle_seconds(env)
        if idle is None:
            raise SystemExit(0)
        self.idle = idle
        options, _ = config.split_global_options([])
        self.directory = config.data_directory(options, env)
        self.timeout = config.lock_timeout(env)
        self.retention = config.backup_retention(env)
        self._notice = _waiting_notice
        self._local = threading.local()  # (.request: the command the calling thread runs)
        self._running: set[threading.Thread] = set()
        self._guard = threading.Lock()
        # Written once when this process ends, never read: a descriptor that is readable from then on.
        self._end_read, self._end_write = socket.socketpair()
        self._ending = self._end_read.fileno()
        self._idle_since = time.monotonic()
        from .. import bootstrap
        from .passphrase import UnattendedPassphrases, keyring_wanted

        # An encrypted store opens here only as a command in its own process opens it without a terminal
        # or a descriptor: from the passphrase file, or the OS keyring (both part of this process's settings).
        self.passphrases = UnattendedPassphrases(env)
        self.service = bootstrap.service(self.directory, lock_timeout=self.timeout, retention=self.retention,
                                         on_lock_wait=self._lock_wait, while_waiting=self._while_waiting,
                                         passphrases=self.passphrases,
                                         keychain=bootstrap.os_keychain() if keyring_wanted(env) else None)

    def _lock_wait(self, remaining: float) -> None:
        request = getattr(self._local, "request", None)
        if request is not None:
            self._notice(request.err)(remaining)

    def _while_waiting(self) -> None:
        request = getattr(self._local, "request", None)
        if request is not None:
            request.cancel.check()

    def end(self) -> None:
        """From now on, commands running are interrupted where Ctrl-C would interrupt them; none starts."""
        try:
            self._end_write.send(b"x")
        except OSError:
            pass

    def _on_sigterm(self, *_: object) -> None:
        self.end()
        raise _Ending

    def serve(self) -> None:
        directory = client.runtime_directory(os.environ)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        if not client.private(directory):
            return
        name = client.socket_name(self.key)
        lock = os.open(os.path.join(directory, name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        import fcntl

        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another serves these settings
        path = os.path.join(directory, name + ".sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            try:
                os.unlink(path)  # a socket left by one that was killed (the lock says none serves it now)
            except FileNotFoundError:
                pass
            old_umask = os.umask(0o177)
            try:
                listener.bind(path)  # (before the store is loaded: a socket that cannot be made costs nothing)
            finally:
                os.umask(old_umask)
            # Loaded now, not by the first command; a store that does not load ends this. Callers meanwhile
            # find the socket not listening, and run their commands themselves.
            self.passphrase_file = self.passphrases.file_stamp()  # (before the file is read: a change then is seen)
            self.service.tasks  # noqa: B018
            self.keys = self.service.key_identity()
            if self.service.snapshot_change() is not None:
                return  # (replaced since it was loaded: the keys noted may not be the ones it opened)
            self.store_identity = _identity_of(self.directory)
            self._note_files()
            self.code_paths = _code_paths()
            self.code = _code_stamp(self.code_paths)
            listener.listen(64)
            self._accept(listener)
        except _Ending:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # (ending already)
            self.end()
            try:
                os.unlink(path)  # (ours: the lock, still held, says no other process serves this name)
            except OSError:
                pass
            listener.close()
            for thread in list(self._running):
                thread.join()
            self.service.close()

    def _accept(self, listener: socket.socket) -> None:
        """Take callers until idle for ``idle`` seconds, or until a command finds this process out of date."""
        while True:
            with self._guard:
                busy = bool(self._running)
            if not busy and time.monotonic() - self._idle_since >= self.idle:
                return
            # (while commands run, look again after `idle` seconds: an ending command need not wake this)
            readable = _readable([listener.fileno(), self._ending], self.idle if busy else self._wait_left())
            if self._ending in readable:
                return
            if listener.fileno() not in readable:
                continue  # (the idle time is counted again above)
            conn, _ = listener.accept()
            thread = threading.Thread(target=self._serve, args=(conn,), name="taskvault command")
            with self._guard:
                self._running.add(thread)
            thread.start()

    def _wait_left(self) -> float:
        return max(0.0, self.idle - (time.monotonic() - self._idle_since))

    def _same_store(self) -> bool:
        """True while the store's directory is the one this process loaded and its snapshot is the file it
        read or wrote (checked before each command). Otherwise the command runs in its own process, which
        reads and checks the store as it is now (refusing a damaged one, starting afresh where it was
        removed), and this process ends. Another session's compaction (snapshot and journal both replaced)
        is read by the command's own catch-up, which reads the new files whole and checks them."""
        if _identity_of(self.directory) != self.store_identity:
            return False
        _, journal = self.service.file_stamps()
        seen = self.journal_seen
        if (journal is None) != (seen is None):
            return False
        change = self.service.snapshot_change()
        if change == "changed":
            return False
        if change == "replaced":  # another taskvault's compaction replaces the journal too, and the command's
            # catch-up then reads the new files whole, checked; a snapshot replaced alone is another hand's
            return journal is not None and seen is not None and journal[:2] != seen[:2]
        # The journal grows as commands (here and elsewhere) append to it; it never shrinks or changes in
        # place but by another hand (or a save taken back), which the command's own process then reads.
        return journal is None or seen is None or journal[:2] != seen[:2] or (
            journal[2] > seen[2] or journal == seen)

    def _same_keys(self) -> bool:
        """True while the store is kept by the key and slots it had when this process opened it (no rekey,
        encrypt or decrypt since, by another process), and the passphrase file is the one it was opened with,
        unchanged. Otherwise the command runs in its own process, which asks for the passphrase the store
        wants now and checks it, and this process ends (it holds a key the passphrase given may no longer open)."""
        if self.service.encrypted and self.passphrases.file_stamp() != self.passphrase_file:
            return False
        snapshot = self.service.file_stamps()[0]
        if snapshot is None or snapshot[:2] == self.keys[0]:
            return True  # (the file whose header was read; an absent one is _same_store's)
        keys = self.service.key_identity()  # (another file: a compaction, here or elsewhere, or a rekey)
        if keys[1] != self.keys[1]:
            return False
        self.keys = keys
        return True

    def _note_files(self) -> None:
        """Remember the store's files as they are now (after a command, while no other command is at work)."""
        self.journal_seen = self.service.file_stamps()[1]

    def _same_program(self) -> bool:
        """True while every file of the program is as it was at the start (a release changes the version,
        which callers compare first; this catches a file edited or added in place)."""
        return _code_stamp(self.code_paths) == self.code

    def _serve(self, conn: socket.socket) -> None:
        """Run one caller's command, in its own thread; refuse it (and end) if this process is out of date."""
        try:
            with conn:
                self._serve_one(conn)
        finally:
            with self._guard:
                self._running.discard(threading.current_thread())
                self._idle_since = time.monotonic()

    def _serve_one(self, conn: socket.socket) -> None:
        conn.settimeout(REQUEST_TIMEOUT)
        try:
            argv = self._receive(conn)
        except (OSError, ValueError):
            return
        current = self._same_store() and self._same_keys() and self._same_program()
        ending = bool(_readable([self._ending], 0))
        if argv is None or not current or ending:
            try:
                conn.sendall(client.REFUSED)
            except OSError:
                pass
            if not current:
                self.end()
            return
        fds: list[int] = []
        try:
            conn.sendall(client.ACCEPTED)
            go, fds = self._descriptors(conn)
        except OSError:  # (the caller gave up, or was interrupted, before it said GO: it runs nothing here)
            go = b""
        request = None
        if go == client.GO and len(fds) == 3:
            try:
                request = Request(conn, argv, fds, self._ending)
            except (OSError, ValueError):  # (a descriptor that cannot be a stream: the caller runs the command)
                pass
        if request is None:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if go == client.GO:
                try:
                    conn.sendall(client.REFUSED)
                except OSError:
                    pass
            return
        status = EXIT_INTERRUPTED
        try:
            conn.settimeout(None)
            self._local.request = request
            status = self._run(request)
        finally:
            self._local.request = None
            request.close()
        try:
            conn.sendall(b"X%d\n" % status)
        except OSError:
            pass
        with self._guard:
            if len(self._running) == 1:  # (this one alone: no other command is changing the files now)
                self._note_files()

    @staticmethod
    def _descriptors(conn: socket.socket) -> tuple[bytes, list[int]]:
        """The caller's GO and the descriptors that came with it (its standard input, output and error)."""
        fds = array.array("i")
        data, ancillary, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(3 * fds.itemsize))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        return data, list(fds)

    def _run(self, request: Request) -> int:
        from .main import _main

        try:
            return _main(request.argv, request.out, request.err, request.stdin,  # type: ignore[arg-type]
                         ResidentServices(self))
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED

    def _receive(self, conn: socket.socket) -> list[str] | None:
        """The request's command line; None when it is not one for this process (another user's, another
        program's or settings', malformed, too long, or cut short)."""
        uid = int.from_bytes(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[4:8], sys.byteorder)
        if uid != os.getuid():
            return None
        head = b""
        while len(head) < 4:
            chunk = conn.recv(4 - len(head))
            if not chunk:
                return None
            head += chunk
        length = int.from_bytes(head, "big")
        if length > client.MAX_REQUEST:
            return None
        body = bytearray()
        try:
            while len(body) < length:
                chunk = conn.recv(min(1 << 20, length - len(body)))
                if not chunk:
                    return None
                body += chunk
        except OSError:  # (a caller too slow to send its request, or gone)
            return None
        fields = bytes(body).decode("utf-8", "surrogateescape").split("\0")
        if fields[:2] != [client.PROTOCOL, self.key] or len(fields) < 3 or fields[2] != str(len(fields) - 3):
            return None
        return fields[3:]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (Ctrl-C reaches a command through its caller, not here)
    try:
        Server().serve()
    except Exception:  # noqa: BLE001 (the caller runs its command itself when this process is not there)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
