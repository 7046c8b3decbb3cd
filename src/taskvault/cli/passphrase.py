"""Where an encrypted store's passphrase comes from: a descriptor, a file, or the person at the terminal.

The store asks through store/keys.py's PassphraseSource and never prompts itself; this is the
interface's answer, in the order gpg and ssh have taught: a descriptor given with ``--passphrase-fd N``
(a script's way: ``3<FILE``, a pipe from a password manager), else the file TASKVAULT_PASSPHRASE_FILE
names (its first line; refused, as ssh refuses a private key, unless it is a regular file of yours that
nobody else may read), else the controlling terminal, asked without echo, else StoreEncrypted, whose hint
names the three ways. A new passphrase (init --encrypt, encrypt, rekey) comes from
``--new-passphrase-fd`` or TASKVAULT_NEW_PASSPHRASE_FILE when given, else from the same sources as the
current one; a terminal asks for it twice.

A passphrase is never logged, never written anywhere and never put in a message. A descriptor can be
read only once, so its line is kept here for the process's later asks; a file is read again at each
ask, and the terminal asked again (the store keeps the key it opened, not the passphrase).
"""

from __future__ import annotations

import os
import stat
from contextvars import ContextVar

from ..commands.settings import KEYRING, NEW_PASSPHRASE_FILE, PASSPHRASE_FILE
from ..errors import InvalidValue, StoreEncrypted, UsageError, shown

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from io import FileIO
    from pathlib import Path

#: The most a passphrase file or descriptor may hold (a passphrase is a line; anything longer is a mistake).
MAX_PASSPHRASE_BYTES = 64 * 1024
#: The fewest characters a new passphrase may have.
MIN_NEW_CHARACTERS = 8
#: The controlling terminal, which is asked even when standard input and output are pipes (as ssh and gpg ask).
TERMINAL = "/dev/tty"
#: The hint of every "no passphrase to be had": the three ways to give one.
WAYS = ("give the passphrase with --passphrase-fd N (as in 3<FILE), or TASKVAULT_PASSPHRASE_FILE=FILE "
        "(a file only you can read: chmod 600), or run taskvault on a terminal to type it")


class Deferral:
    """The terminal is not to be asked here and now (the session's background load, under its prompt): an ask
    is refused with StoreEncrypted and noted in ``wanted``, for the session to make in the foreground."""

    def __init__(self) -> None:
        self.wanted = False


#: The Deferral of the running context, if the terminal may not be asked in it (cli/repl.py sets it).
_DEFERRAL: ContextVar[Deferral | None] = ContextVar("taskvault_passphrase_deferral", default=None)


def defer_terminal(deferral: Deferral) -> None:
    """From now on, in this context, the terminal is not asked: ``deferral`` notes that it was wanted."""
    _DEFERRAL.set(deferral)


def keyring_wanted(env: Mapping[str, str]) -> bool:
    """Whether the OS keyring may keep and give an encrypted store's key: TASKVAULT_KEYRING off says not."""
    raw = env.get(KEYRING.name, "").strip().lower()
    if raw not in ("", "on", "off"):
        raise UsageError(f"{KEYRING.name} must be on or off, not {shown(env[KEYRING.name])}")
    return raw != "off"


class Passphrases:
    """The PassphraseSource of one taskvault process (store/keys.py), over its options and environment.

    ``fd`` and ``new_fd``: --passphrase-fd and --new-passphrase-fd as given (a descriptor number), checked
    here, before anything runs; ``env``: where TASKVAULT_PASSPHRASE_FILE and TASKVAULT_NEW_PASSPHRASE_FILE
    are read; ``terminal``: the terminal asked when neither gives one.
    """

    def __init__(self, env: Mapping[str, str], *, fd: str | None = None, new_fd: str | None = None,
                 terminal: str = TERMINAL) -> None:
        self._fd = _descriptor("--passphrase-fd", fd)
        self._new_fd = _descriptor("--new-passphrase-fd", new_fd)
        if self._fd is not None and self._fd == self._new_fd:
            raise UsageError(f"--passphrase-fd and --new-passphrase-fd both name descriptor {self._fd}",
                             hint="give the current and the new passphrase on two descriptors")
        self._file = _variable(env, PASSPHRASE_FILE.name)
        self._new_file = _variable(env, NEW_PASSPHRASE_FILE.name)
        self._terminal = terminal
        #: The line each descriptor gave, by descriptor: it cannot be read twice.
        self._lines: dict[int, str] = {}
        #: The sources (by label) that gave a current passphrase: a new one must come from another.
        self._gave_current: set[str] = set()
        #: True once the terminal or a descriptor gave a passphrase: a resident process, which has neither, could
        #: not get it again to open the store.
        self.typed_or_piped = False

    def passphrase(self, store: Path, purpose: str) -> str:
        """The passphrase of the store in ``store``, for ``purpose`` ("unlock", "current" or "new")."""
        if purpose == "new":
            return self._new(store)
        given = self._given(self._fd, "--passphrase-fd", self._file, PASSPHRASE_FILE.name)
        if given is not None:
            label, read = given
            text = read()
            self._gave_current.add(label)
            return text
        return self._from_terminal(store, new=False)

    def _new(self, store: Path) -> str:
        given = self._given(self._new_fd, "--new-passphrase-fd", self._new_file, NEW_PASSPHRASE_FILE.name)
        if given is None:
            given = self._given(self._fd, "--passphrase-fd", self._file, PASSPHRASE_FILE.name)
            if given is not None and given[0] in self._gave_current:
                raise UsageError(f"a new passphrase is needed, and {given[0]} gave the current one",
                                 hint="give the new one with --new-passphrase-fd N or TASKVAULT_NEW_PASSPHRASE_FILE")
        if given is None:
            return self._from_terminal(store, new=True)
        label, read = given
        text = read()
        if len(text) < MIN_NEW_CHARACTERS:
            raise InvalidValue(f"the new passphrase from {label} is shorter than {MIN_NEW_CHARACTERS} characters",
                               hint="choose a longer one: it is all that stands between a copy of the store and its tasks")
        return text

    def _given(self, fd: int | None, option: str, file: str | None,
               variable: str) -> tuple[str, Callable[[], str]] | None:
        """The source that gives a passphrase, the descriptor before the file: (its label, how to read it)."""
        if fd is not None:
            return f"{option} {fd}", lambda: self._line_of(fd, option)
        if file is not None:
            return variable, lambda: _first_line_of_file(variable, file)
        return None

    def _line_of(self, fd: int, option: str) -> str:
        if fd not in self._lines:
            self._lines[fd] = _read_descriptor(option, fd)
            self.typed_or_piped = True
        return self._lines[fd]

    def _from_terminal(self, store: Path, *, new: bool) -> str:
        deferral = _DEFERRAL.get()
        if deferral is not None:
            deferral.wanted = True
            raise StoreEncrypted(f"the store in {store} is encrypted: its passphrase is asked in the foreground")
        try:
            fd = os.open(self._terminal, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            raise StoreEncrypted(f"the store in {store} is encrypted, and there is no terminal to ask its passphrase on",
                                 hint=WAYS) from None
        with open(fd, "r+b", buffering=0) as tty:
            if not tty.isatty():
                raise StoreEncrypted(f"the store in {store} is encrypted, and {self._terminal} is not a terminal",
                                     hint=WAYS)
            passphrase = _ask(tty, store, new=new)
        self.typed_or_piped = True
        return passphrase


class UnattendedPassphrases:
    """The PassphraseSource of a process no one watches (the resident process): TASKVAULT_PASSPHRASE_FILE
    alone, read and checked as Passphrases reads it, to open the store; never a terminal or a descriptor,
    and never a new or current passphrase (encrypt, decrypt and rekey run in their own process)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.file = _variable(env, PASSPHRASE_FILE.name)

    def passphrase(self, store: Path, purpose: str) -> str:
        if purpose != "unlock" or self.file is None:
            raise StoreEncrypted(f"the store in {store} is encrypted, and no passphrase file opens it unattended",
                                 hint=WAYS)
        return _first_line_of_file(PASSPHRASE_FILE.name, self.file)

    def file_stamp(self) -> tuple[int, ...] | None:
        """(device, inode, size, modification and change times, mode) of the passphrase file now, None when it
        is not there: a resident process ends when it differs from the stamp taken as it opened the store."""
        if self.file is None:
            return None
        try:
            info = os.lstat(os.path.expanduser(self.file))
        except (OSError, ValueError):
            return None
        return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode, info.st_uid)


def _ask(terminal: FileIO, store: Path, *, new: bool) -> str:
    first = _typed(_read_hidden(terminal, f"{'New passphrase' if new else 'Passphrase'} for {store}: "))
    if not new:
        return first
    if len(first) < MIN_NEW_CHARACTERS:
        raise InvalidValue(f"that passphrase is shorter than {MIN_NEW_CHARACTERS} characters",
                           hint="choose a longer one: it is all that stands between a copy of the store and its tasks")
    if _typed(_read_hidden(terminal, "Repeat it: ")) != first:
        raise InvalidValue("the two passphrases typed differ", hint="type the same passphrase twice")
    return first


def _typed(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue("the passphrase typed is not UTF-8 text", hint="check the terminal's encoding") from None
    if not text:
        raise InvalidValue("an empty passphrase opens nothing", hint="type the passphrase, then Enter")
    return text


def _read_hidden(tty: FileIO, prompt: str) -> bytes:
    """One line typed at ``tty`` after ``prompt``, not echoed (as getpass reads it, but never falling back to
    standard input). Ctrl-C stays a signal: KeyboardInterrupt, with the echo restored."""
    import termios

    fd = tty.fileno()
    before = termios.tcgetattr(fd)
    hidden = termios.tcgetattr(fd)
    hidden[3] &= ~termios.ECHO
    tty.write(prompt.encode("utf-8", "backslashreplace"))
    tty.flush()
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, hidden)
        line = _line(lambda: tty.read(1), "the terminal")
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, before)
        tty.write(b"\n")  # (the Enter typed was not echoed)
        tty.flush()
    return line


def _line(read_byte: Callable[[], bytes | None], where: str) -> bytes:
    """Bytes up to a newline or the end, the newline (and a carriage return before it) left out; one byte at a
    time, so that nothing after the line is taken from a descriptor shared with another reader."""
    data = bytearray()
    while len(data) <= MAX_PASSPHRASE_BYTES:
        byte = read_byte()
        if not byte or byte == b"\n":
            return bytes(data[:-1] if data.endswith(b"\r") else data)
        data += byte
    raise UsageError(f"{where} gave a line longer than {MAX_PASSPHRASE_BYTES // 1024} KiB: no passphrase is that long")


def _descriptor(option: str, raw: str | None) -> int | None:
    """The descriptor ``raw`` names, checked now: open, not standard output or error, not a directory."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"{option} takes a descriptor number, not {shown(raw)}",
                         hint=f"open the descriptor in the shell: {option} 3 3<FILE")
    fd = int(raw)
    if fd in (1, 2):
        raise UsageError(f"{option} {fd} is standard {'output' if fd == 1 else 'error'}: a passphrase is read, not written",
                         hint=f"open another descriptor in the shell: {option} 3 3<FILE")
    try:
        mode = os.fstat(fd).st_mode
    except (OSError, OverflowError):
        raise UsageError(f"{option} {fd}: descriptor {fd} is not open",
                         hint=f"open it in the shell: {option} {fd} {fd}<FILE") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{option} {fd}: descriptor {fd} is a directory", hint="open the file that holds the passphrase")
    return fd


def _read_descriptor(option: str, fd: int) -> str:
    label = f"{option} {fd}"
    try:
        line = _line(lambda: os.read(fd, 1), label)
    except OSError as exc:
        raise UsageError(f"{label} cannot be read: {exc.strerror}") from None
    finally:
        if fd > 2:  # (standard input is left to its readers)
            try:
                os.close(fd)
            except OSError:
                pass
    return _text(line, label, "descriptor")


def _text(line: bytes, label: str, what: str) -> str:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label} gave a passphrase that is not UTF-8 text") from None
    if not text:
        raise UsageError(f"{label} gave no passphrase (an empty first line, or nothing)",
                         hint=f"put the passphrase on the {what}'s first line")
    return text


def _variable(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    if not value or "\0" in value:
        raise UsageError(f"{name} is set but {'empty' if not value else 'holds a NUL character'}",
                         hint="unset it, or set it to the file that holds the passphrase")
    return value


def _first_line_of_file(variable: str, name: str) -> str:
    """The first line of the file ``name``, once it is seen to be a regular file of this user's, no link, not
    open to others, and small (ssh's rule for a private key: a passphrase others can read protects nothing)."""
    path = os.path.expanduser(name)
    label = f"{variable} ({path})"
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise UsageError(f"{label} cannot be read: {exc.strerror}") from None
    _check_file(label, path, info)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"{label} cannot be read: {exc.strerror}") from None
    with open(fd, "rb", buffering=0) as file:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise UsageError(f"{label} was replaced while it was read", hint="try again")
        _check_file(label, path, opened)
        data = file.read(MAX_PASSPHRASE_BYTES + 1)
    if len(data) > MAX_PASSPHRASE_BYTES:
        raise UsageError(f"{label} is larger than {MAX_PASSPHRASE_BYTES // 1024} KiB: it is not a passphrase file",
                         hint="name the file that holds the passphrase on its first line")
    line = data.split(b"\n", 1)[0]
    return _text(line[:-1] if line.endswith(b"\r") else line, label, "file")


def _check_file(label: str, path: str, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(f"{label} is a symbolic link", hint="name the file itself")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{label} is not a regular file", hint="name a file that holds the passphrase on its first line")
    if info.st_uid != os.getuid():
        raise UsageError(f"{label} belongs to another user", hint="keep the passphrase in a file of your own")
    if info.st_mode & 0o077:
        import shlex

        raise UsageError(f"{label} is open to other users (mode {stat.S_IMODE(info.st_mode):04o}): a passphrase "
                         "they can read protects nothing", hint=f"chmod 600 {shlex.quote(path)}")
    if info.st_size > MAX_PASSPHRASE_BYTES:
        raise UsageError(f"{label} is larger than {MAX_PASSPHRASE_BYTES // 1024} KiB: it is not a passphrase file",
                         hint="name the file that holds the passphrase on its first line")
