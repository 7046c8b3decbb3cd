"""Executable transcripts: Markdown ``console`` blocks run against the installed taskvault.

A transcript is what a person would see in a terminal::

    $ taskvault add "Buy milk"          <- a fresh shell (bash) runs this line
    Added task 1: Buy milk              <- expected output (stdout and stderr, as interleaved)
    $ taskvault delete 9
    error: no task with id 9 (...)
    [exit 1]                            <- the exit code, when it is not 0

``$ CMD <<'EOF'`` feeds the following lines, up to ``EOF``, to standard input. A long-lived
session is started with ``A$ CMD``; ``A> LINE`` writes LINE to its standard input and expects the
lines after it; ``A> ^D`` closes its input and expects the rest of its output and its exit code.
``T% CMD`` starts CMD on a real terminal (tmux) instead: ``T> LINE`` types LINE and Enter and
expects what the screen then shows up to the next prompt, and ``T> ^D`` presses Ctrl-D.

Every scenario runs in a fresh, empty data directory, which is also the working directory, so
``cat tasks.json`` works. In expected output, ``<uuid>``, ``<time>``, ``<today>``, ``<today+N>``,
``<today-N>``, ``<data>`` (the data directory), ``<number>`` and ``<...>`` (any text) stand for
volatile values, and a line ``...`` stands for any number of lines.

A file is one scenario unless it has ``Scenario:`` headings; then each starts a fresh store.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import attrs

TIMEOUT = 30.0
_SESSION = re.compile(r"^([A-Z])([$%>]) (.*)$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")
_EXIT = re.compile(r"^\[exit (\d+)\]$")
_HEADING = re.compile(r"^#+\s+Scenario:\s*(.+?)\s*$")
_PLACEHOLDER = re.compile(r"<(uuid|time|today(?:[+-]\d+)?|data|number|\.\.\.)>")
_PATTERNS = {
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "time": r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: UTC|Z|[+-]\d\d:\d\d)?",
    "number": r"\d+(?:\.\d+)?",
    "...": r".*",
}


@attrs.frozen
class Step:
    """One thing to do and what it must print: a shell line, or input to a session."""

    kind: str  # "shell", "start", "send", "close"
    text: str
    line: int  # where it is written, for messages
    session: str | None = None
    expected: tuple[str, ...] = ()
    exit_code: int = 0


@attrs.frozen
class Scenario:
    path: Path
    name: str
    line: int
    steps: tuple[Step, ...]

    @property
    def tools(self) -> set[str]:
        """Programs, other than taskvault and the shell's own, that the scenario runs."""
        words = {word for step in self.steps if step.kind in ("shell", "start") for word in step.text.split()}
        return (words & {"fiu-run", "strace", "tmux", "jq", "task", "todo-txt"}) | ({"tmux"} if any(
            step.kind == "terminal" for step in self.steps) else set())


def parse(path: Path) -> list[Scenario]:
    lines = path.read_text(encoding="utf-8").splitlines()
    title = path.parent.name + "/" + path.stem if path.parent.name != "docs" else path.name
    scenarios: list[Scenario] = []
    name, start, steps = title, 1, []  # type: ignore[var-annotated]
    fence: str | None = None
    number = 0
    while number < len(lines):
        text = lines[number]
        number += 1
        if fence is None:
            heading = _HEADING.match(text)
            if heading:
                if steps:
                    scenarios.append(Scenario(path, name, start, tuple(steps)))
                name, start, steps = heading.group(1), number, []
            elif text.strip().startswith("```console"):
                fence = text[: text.index("`")] + "```"
            continue
        if text.strip() == "```":
            fence = None
            continue
        if text.startswith("$ ") or _SESSION.match(text):
            step, number = _read_step(lines, number - 1)
            steps.append(step)
        elif steps:
            _add_expected(steps, text)
        else:
            raise ValueError(f"{path}:{number}: output before any command")
    if fence is not None:
        raise ValueError(f"{path}: a console block is not closed")
    if steps:
        scenarios.append(Scenario(path, name, start, tuple(steps)))
    for scenario in scenarios:
        for step in scenario.steps:
            if step.kind in ("start", "terminal", "send") and "..." in step.expected:
                raise ValueError(f"{path}:{step.line}: a session step reads exactly its lines; '...' cannot stand in")
    return scenarios


def _read_step(lines: list[str], index: int) -> tuple[Step, int]:
    text = lines[index]
    session_line = _SESSION.match(text)
    if session_line:
        session, sign, command = session_line.groups()
        if sign in "$%":
            return Step("start" if sign == "$" else "terminal", command, index + 1, session), index + 1
        kind = "close" if command == "^D" else "send"
        return Step(kind, command, index + 1, session), index + 1
    command = text[2:]
    heredoc = _HEREDOC.search(command)
    end = index + 1
    if heredoc:
        while end < len(lines) and lines[end] != heredoc.group(2):
            end += 1
        if end == len(lines):
            raise ValueError(f"line {index + 1}: here-document {heredoc.group(2)} is not closed")
        command = "\n".join([command, *lines[index + 1: end + 1]])
        end += 1
    return Step("shell", command, index + 1), end


def _add_expected(steps: list[Step], text: str) -> None:
    last = steps[-1]
    exit_line = _EXIT.match(text)
    if exit_line:
        steps[-1] = attrs.evolve(last, exit_code=int(exit_line.group(1)))
    else:
        steps[-1] = attrs.evolve(last, expected=(*last.expected, text.rstrip()))


# -- matching -----------------------------------------------------------------------------


def _pattern(expected: str, today: dt.date, data: Path) -> re.Pattern[str]:
    parts, last = [], 0
    for found in _PLACEHOLDER.finditer(expected):
        parts.append(re.escape(expected[last: found.start()]))
        name = found.group(1)
        if name.startswith("today"):
            days = int(name[5:] or 0)
            parts.append(re.escape((today + dt.timedelta(days=days)).isoformat()))
        elif name == "data":
            parts.append(re.escape(str(data)))
        else:
            parts.append(_PATTERNS[name])
        last = found.end()
    parts.append(re.escape(expected[last:]))
    return re.compile("".join(parts))


def match(expected: tuple[str, ...], actual: list[str], today: dt.date, data: Path) -> list[str] | None:
    """Return ``actual`` with each matched line shown as its expected form, or None if it differs."""
    def walk(e: int, a: int) -> list[str] | None:
        if e == len(expected):
            return [] if a == len(actual) else None
        if expected[e] == "...":
            for skip in range(len(actual) - a + 1):
                rest = walk(e + 1, a + skip)
                if rest is not None:
                    return ["...", *rest]
            return None
        if a < len(actual) and _pattern(expected[e], today, data).fullmatch(actual[a]):
            rest = walk(e + 1, a + 1)
            return None if rest is None else [expected[e], *rest]
        return None
    return walk(0, 0)


# -- running ------------------------------------------------------------------------------


class TranscriptFailed(AssertionError):
    """A step printed something else, or exited otherwise, than its transcript says."""


def program_directory() -> Path:
    """The directory of the installed ``taskvault`` command (the one this Python runs)."""
    directory = Path(sys.executable).parent
    if not (directory / "taskvault").exists():
        raise RuntimeError(f"taskvault is not installed beside {sys.executable}; run: pip install -e '.[test]'")
    return directory


def environment(data: Path, home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TASKVAULT_", "XDG_")) and key not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(
        PATH=f"{program_directory()}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        TASKVAULT_DATA_DIR=str(data), HOME=str(home), XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
        TASKVAULT_RESIDENT="off",  # (no resident process outlives a scenario; tests/test_resident.py tests it)
        LC_ALL="C.UTF-8", TERM="dumb",  # no COLUMNS: a pipe's tables are never cut, a terminal's fit it
        SPEC_FIXTURES=str(Path(__file__).parent / "fixtures"),  # committed stores, such as schema 1 ones
    )
    return env


class _Session:
    """A long-lived process whose output is read line by line as the transcript asks for it."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n").rstrip())
        self.lines.put(None)

    def read(self, count: int) -> list[str]:
        got: list[str] = []
        while len(got) < count:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                break
            if line is None:
                self.lines.put(None)
                break
            got.append(line)
        return got

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def close(self) -> tuple[list[str], int]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=TIMEOUT)
        rest = []
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            rest.append(line)
        return rest, code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class _Terminal:
    """An interactive session on a real terminal (tmux), read as the screen a person sees.

    After each line, the output is what the screen shows between that line and the next prompt.
    """

    PROMPT = "taskvault>"
    QUESTION = re.compile(r".*\? \[y/N\]")

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.socket = f"taskvault-{os.getpid()}-{os.urandom(6).hex()}"  # (id(self) is reused once freed)
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        script = f"cd {shlex.quote(str(cwd))} && env -i {exports} {command}; echo \"[exit $?]\"; sleep 600"
        self._tmux("new-session", "-d", "-x", "100", "-y", "50", script)
        self.sent = 0

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT).stdout

    def _screen(self) -> list[str]:
        return [line.rstrip() for line in self._tmux("capture-pane", "-p", "-J", "-S", "-").splitlines()]

    def _wait(self, ready: Callable[[list[str]], list[str] | None]) -> list[str]:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            found = ready(self._screen())
            if found is not None:
                return found
            time.sleep(0.02)  # polling the screen for a condition, not waiting for time to pass
        return [*self._screen(), "(timed out waiting for the screen)"]

    def _prompts(self, screen: list[str]) -> list[int]:
        """Lines where the session waits for input: its prompt, or a yes/no question."""
        return [i for i, line in enumerate(screen) if line.startswith(self.PROMPT) or self.QUESTION.match(line)]

    def start(self) -> list[str]:
        def ready(screen: list[str]) -> list[str] | None:
            prompts = self._prompts(screen)
            if not prompts:
                return None
            return screen[: prompts[0] + (1 if self.QUESTION.match(screen[prompts[0]]) else 0)]  # a question shows
        return self._wait(ready)

    def send(self, text: str) -> tuple[list[str], int]:
        """Type ``text`` (``^D``: press Ctrl-D); return the screen's answer and the exit code if it ended."""
        self.sent += 1
        if text == "^D":
            self._tmux("send-keys", "-t", "0", "C-d")
        else:
            self._tmux("send-keys", "-t", "0", "-l", text)
            self._tmux("send-keys", "-t", "0", "Enter")

        def ready(screen: list[str]) -> list[str] | None:
            prompts = self._prompts(screen)
            if len(prompts) < self.sent:
                return None
            start = prompts[self.sent - 1] + 1
            ended = [i for i in range(start, len(screen)) if _EXIT.match(screen[i])]
            if ended:
                return screen[start: ended[0] + 1]
            if len(prompts) == self.sent:
                return None
            end = prompts[self.sent] + (1 if self.QUESTION.match(screen[prompts[self.sent]]) else 0)
            return screen[start: end]  # a question is shown as the output's last line
        lines = self._wait(ready)
        exited = _EXIT.match(lines[-1]) if lines else None
        if exited:
            return [line for line in lines[:-1] if line], int(exited.group(1))
        return lines, 0

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=TIMEOUT)


def _replace(sessions: dict[str, _Session | _Terminal], name: str) -> None:
    """End the session a new one of the same name takes the place of (else its terminal is left running)."""
    previous = sessions.pop(name, None)
    if previous is not None:
        previous.kill()


def run(scenario: Scenario, workdir: Path) -> int:
    """Run every step in a fresh data directory; raise TranscriptFailed at the first difference."""
    data, home = workdir / "data", workdir / "home"
    data.mkdir(mode=0o700, parents=True)
    home.mkdir()
    env = environment(data, home)
    sessions: dict[str, _Session | _Terminal] = {}
    try:
        for step in scenario.steps:
            today = dt.date.today()
            if step.kind == "shell":
                done = subprocess.run(["bash", "-c", step.text], cwd=data, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT * 4)
                actual, code = _lines(done.stdout), done.returncode
            elif step.kind == "start":
                _replace(sessions, step.session or "")
                sessions[step.session or ""] = _Session(step.text, data, env)
                actual, code = sessions[step.session or ""].read(len(step.expected)), 0
            elif step.kind == "terminal":
                _replace(sessions, step.session or "")
                terminal = sessions[step.session or ""] = _Terminal(step.text, data, {**env, "TERM": "xterm"})
                actual, code = terminal.start(), 0
            else:
                session = sessions.get(step.session or "")
                if session is None:
                    raise TranscriptFailed(f"{scenario.path}:{step.line}: session {step.session} was never started")
                if isinstance(session, _Terminal):
                    actual, code = session.send(step.text)
                elif step.kind == "send":
                    session.send(step.text)
                    actual, code = session.read(len(step.expected)), 0
                else:
                    actual, code = session.close()
                    del sessions[step.session or ""]
            _compare(scenario, step, actual, code, today, data)
    finally:
        for session in sessions.values():
            session.kill()
    return len(scenario.steps)


def _lines(output: str) -> list[str]:
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _compare(scenario: Scenario, step: Step, actual: list[str], code: int, today: dt.date, data: Path) -> None:
    shown = match(step.expected, actual, today, data)
    if shown is not None and code == step.exit_code:
        return
    prompt = {"shell": "$ ", "start": f"{step.session}$ ", "terminal": f"{step.session}% "}.get(
        step.kind, f"{step.session}> ")
    head = prompt + step.text.splitlines()[0]
    expected = [*step.expected, *([f"[exit {step.exit_code}]"] if step.exit_code else [])]
    if shown is None:  # show lines that did match in their expected form, so the diff is only the difference
        shown = [e if i < len(step.expected) and match((e,), [a], today, data) else a
                 for i, (a, e) in enumerate(zip(actual, [*step.expected, *[""] * len(actual)], strict=False))]
    got = [*shown, *([f"[exit {code}]"] if code else [])]
    diff = difflib.unified_diff(expected, got, "expected (transcript)", "actual (taskvault)", lineterm="", n=99)
    raise TranscriptFailed(f"{scenario.path}:{step.line}: {head}\n" + "\n".join(diff))


def skip_reason(scenario: Scenario) -> str | None:
    """Why a scenario cannot run here: a tool it needs is not installed (CI requires them all)."""
    missing = sorted(tool for tool in scenario.tools if shutil.which(tool) is None)
    if not missing or os.environ.get("TASKVAULT_REQUIRE_TOOLS"):
        return None
    return (f"needs {', '.join(missing)}: apt-get install fiu-utils jq tmux taskwarrior todotxt-cli "
            "(CI sets TASKVAULT_REQUIRE_TOOLS=1)")
