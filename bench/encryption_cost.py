"""What encryption costs: an encrypted store against a plain one holding the same tasks, in the same run.

    python bench/encryption_cost.py [--sizes 1000,10000] [--pairs 11] [--changes 1000] [--kdf-runs 11] [--dir DIR]

Issue 21 asks that a change in a session on an encrypted store cost at most 1.2x the same change on a
plain one, and a one-shot command at most 1.2x. For each size the bench builds two stores THROUGH THE
PROGRAM, the way users build theirs (bench/stores.py: one script-mode session adds the seeded tasks, edits
5% and marks 20% done, so each has its journal, undo history, compactions and backups): a plain one, and one
made by `taskvault init --encrypt` with the passphrase in a file named by TASKVAULT_PASSPHRASE_FILE (mode
600) and then built by the same session with that file. It checks that the second is encrypted (its
snapshot is sealed), then measures, every comparison as interleaved pairs (A B, B A, A B …), the ratio
being the median of the per-pair ratios:

* (a) a change in a session: one script-mode session on each store, fed `add` and `done` lines in turn;
  blocks of 50 changes on one alternate with blocks on the other, each change timed from its line sent to
  its acknowledgement; the ratio is the median of the per-block-pair ratios of the blocks' medians. Beside
  it, the CPU time (user and system) each session's process used over its blocks, from /proc, the ratio
  of the totals: what a change costs the machine, which a busy disk's fsync time does not hide;
* (b) one-shot `add` and `list`, the passphrase from TASKVAULT_PASSPHRASE_FILE (the keyring off), against
  the same command on the plain store twice: in-process (TASKVAULT_RESIDENT=off: the same path, Python,
  imports and loading the store) and through the plain store's resident process (what a plain store's user
  gets by default; bench/resident.py starts and verifies it). The encrypted command runs in the default
  configuration, in an XDG_RUNTIME_DIR of its own; the bench says whether a resident process served it;
* (c) the same with the key from the OS keyring, the store given a keyring entry by `taskvault rekey
  --keyring` (and the entry removed again by `rekey --no-keyring` at the end); skipped, with a line saying
  why, when the installed interpreter's `keyring` has no working backend;
* (d) the key derivation alone: scrypt with the parameters and salt the encrypted store's header holds,
  timed in this process.

For (c) on a Linux machine without a desktop session, give it a Secret Service of its own (GNOME Keyring,
unlocked, on a D-Bus session bus that ends with the run):

    dbus-run-session -- sh -c 'printf bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
        .venv/bin/python bench/encryption_cost.py'

Prints a table of medians, p99s (the slowest run when fewer than 100) and ratios, the build times and
the disk each store keeps. Nothing here imports taskvault: it drives the installed program.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import BenchError, Session, installed_taskvault, interleaved, pair_ratio, pct, run_timed
from report import ms
from run import compile_installed
from stores import TAG, build_taskvault, seeded_tasks, tree_bytes

from resident import Resident, interpreter

BLOCK = 50  # changes per block of the session measure
PASSPHRASES = ("a bench passphrase: correct horse battery staple", "a second bench passphrase, for rekey",
               "a third bench passphrase, to leave the keyring")


class Table:
    """The rows printed at the end: a measure, its reference, and the median of the per-pair ratios."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int | None, list[float], str, list[float] | None, float | None]] = []
        self.notes: list[str] = []

    def add(self, what: str, size: int | None, times: list[float], ref_name: str = "",
            ref: list[float] | None = None, ratio: float | None = None) -> float | None:
        if ref is not None and ratio is None:
            ratio = pair_ratio(times, ref)
        self.rows.append((what, size, times, ref_name, ref, ratio))
        line = f"  {what}: {ms(statistics.median(times))} ms"
        if ref is not None and ratio is not None:
            line += f" vs {ms(statistics.median(ref))} ms {ref_name}: {ratio:.2f}x"
        print(line, flush=True)
        return ratio

    def print(self) -> None:
        header = (f"{'measure':<44} {'tasks':>7} {'runs':>5} {'median ms':>9} {'p99 ms':>8}  {'reference':<34} "
                  f"{'median ms':>9} {'p99 ms':>8} {'ratio':>7}")
        print("\n" + header)
        print("-" * len(header))
        for what, size, times, ref_name, ref, ratio in self.rows:
            line = (f"{what:<44} {f'{size:,}' if size else '':>7} {len(times):>5} {ms(statistics.median(times)):>9} "
                    f"{ms(pct(times, 0.99)):>8}  {ref_name:<34}")
            if ref is not None and ratio is not None:
                line += f" {ms(statistics.median(ref)):>9} {ms(pct(ref, 0.99)):>8} {ratio:>6.2f}x"
            print(line.rstrip())
        print("\nratio: the median of per-pair ratios of interleaved pairs (A B, B A, …); for a session's changes, "
              "of per-pair ratios of the medians of blocks of 50 changes; for its CPU, of the totals over all blocks.")
        print("plain, in-process: TASKVAULT_RESIDENT=off, the whole command in its own process, as the encrypted "
              "one runs; plain, resident: the plain store's resident process already running (a plain store's "
              "default).")
        for note in self.notes:
            print(note)


class Stores:
    """The plain and the encrypted store of one size, built through the program, and how to run commands on them."""

    def __init__(self, taskvault: str, root: Path, size: int, base_env: dict[str, str], secrets: list[Path]) -> None:
        self.taskvault = taskvault
        self.size = size
        self.plain = root / f"plain-{size}"
        self.sealed = root / f"encrypted-{size}"
        self.secrets = secrets
        self.secret = secrets[0]  # the file holding the encrypted store's current passphrase
        self.base_env = base_env
        self.plain_resident = Resident(f"plain {size:,}", self.plain, root / f"run-plain-{size}", base_env)
        #: The encrypted store's one-shot commands run in the default configuration (the resident process not
        #: turned off), in a runtime directory of their own, so that whatever they start is found and stopped.
        self.sealed_runtime = Resident(f"encrypted {size:,}", self.sealed, root / f"run-sealed-{size}", base_env)

    def plain_env(self, resident: bool = False) -> dict[str, str]:
        if resident:
            return self.plain_resident.env
        return self.base_env | {"TASKVAULT_DATA_DIR": str(self.plain), "TASKVAULT_RESIDENT": "off"}

    def sealed_env(self, keyring: bool = False) -> dict[str, str]:
        """The encrypted store's environment: the passphrase from its file and the keyring off, or (``keyring``)
        no passphrase at all, so that only the keyring can open it (a command that found none would fail)."""
        env = dict(self.sealed_runtime.env)
        if keyring:
            return env
        return env | {"TASKVAULT_PASSPHRASE_FILE": str(self.secret), "TASKVAULT_KEYRING": "off"}

    def run(self, env: dict[str, str], *words: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.taskvault, *words], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
        if done.returncode:
            raise BenchError(f"taskvault {' '.join(words)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        return done

    def build(self, table: Table) -> None:
        tasks = seeded_tasks(self.size)
        print(f"{self.size:,} tasks: building the plain store through the program …", flush=True)
        plain = build_taskvault(self.taskvault, self.plain, tasks, env=self.base_env | {"TASKVAULT_RESIDENT": "off"})
        print(f"{self.size:,} tasks: taskvault init --encrypt, then the same build on the encrypted store …", flush=True)
        env = self.sealed_env() | {"TASKVAULT_RESIDENT": "off"}
        self.run(env, "--data-dir", str(self.sealed), "init", "--encrypt")
        sealed = build_taskvault(self.taskvault, self.sealed, tasks, env=env)
        self.check_sealed(tasks[0].final_title)
        table.notes.append(
            f"build at {self.size:,} ({plain.lines:,} commands in one session, not interleaved): plain "
            f"{plain.seconds:.1f} s, encrypted {sealed.seconds:.1f} s ({sealed.seconds / plain.seconds:.2f}x); "
            f"disk: plain {_mb(self.plain)} MB, encrypted {_mb(self.sealed)} MB")

    def check_sealed(self, title: str) -> None:
        """The encrypted store is one: its snapshot's first line is a sealed header, and no file of it holds a
        title in the clear (a plain store measured as encrypted would make every ratio a lie)."""
        header = self.header()
        if header.get("format") != "taskvault-encrypted":
            raise BenchError(f"{self.sealed}/tasks.json is not encrypted (format {header.get('format')!r}): "
                             "init --encrypt did not encrypt; is the encryption core installed?")
        for path in self.sealed.rglob("*"):
            if path.is_file() and title.encode() in path.read_bytes():
                raise BenchError(f"{path} holds the title {title!r} in the clear")

    def header(self) -> dict[str, object]:
        with open(self.sealed / "tasks.json", "rb") as snapshot:
            first = snapshot.readline()
        try:
            found = json.loads(first)
        except ValueError as exc:
            raise BenchError(f"{self.sealed}/tasks.json: its first line is not a JSON header ({exc})") from exc
        if not isinstance(found, dict):
            raise BenchError(f"{self.sealed}/tasks.json: its first line is not a JSON object")
        return found

    def stop(self) -> None:
        for resident in (self.plain_resident, self.sealed_runtime):
            left = resident.stop()
            if left:
                print(f"warning: resident process(es) {left} did not exit within 30 s of SIGTERM", flush=True)


def _mb(directory: Path) -> str:
    return f"{sum(tree_bytes(directory).values()) / 1e6:.1f}"


def session_changes(stores: Stores, changes: int, table: Table) -> None:
    """(a) Blocks of BLOCK changes on each store in turn, which goes first alternating (A B, B A, …): an add,
    then the done of the task it added."""
    print(f"{stores.size:,} tasks: {changes:,} changes in a session on each store, in blocks of {BLOCK} …", flush=True)
    sessions: dict[str, Session] = {}
    first: dict[str, float] = {}
    for name, env in (("plain", stores.plain_env()), ("encrypted", stores.sealed_env() | {"TASKVAULT_RESIDENT": "off"})):
        # Each session's first command, sent as it starts (before the next session starts): it waits for Python,
        # the imports and the store's load (encrypted: the key's derivation too), which are not a change's cost.
        start = time.perf_counter()
        sessions[name] = Session([stores.taskvault], env)
        sessions[name].ack(f"add 'Session warm-up' --tag {TAG}")
        first[name] = time.perf_counter() - start
    made = dict.fromkeys(sessions, 0)
    last_added = dict.fromkeys(sessions, 0)

    cpu = dict.fromkeys(sessions, 0.0)

    def block(name: str) -> list[float]:
        times = []
        before = cpu_seconds(sessions[name])
        for _ in range(BLOCK):
            if made[name] % 2 == 0:
                line, expect = f"add 'Session change {made[name]}' --tag {TAG}", "Added task"
            else:
                line, expect = f"done {last_added[name]}", "Completed task"
            seconds, answer = sessions[name].ack(line)
            if not answer.startswith(expect):
                raise BenchError(f"{name}: {line!r} answered {answer!r}")
            if made[name] % 2 == 0:
                last_added[name] = int(answer.split()[2].rstrip(":"))
            made[name] += 1
            times.append(seconds)
        cpu[name] += cpu_seconds(sessions[name]) - before
        return times

    sealed: list[list[float]] = []
    plain: list[list[float]] = []
    for n in range(max(1, changes // BLOCK)):
        if n % 2:
            plain.append(block("plain"))
            sealed.append(block("encrypted"))
        else:
            sealed.append(block("encrypted"))
            plain.append(block("plain"))
    for session in sessions.values():
        session.close()
    ratio = statistics.median(statistics.median(s) / statistics.median(p) for s, p in zip(sealed, plain, strict=True))
    table.add("(a) change in a session, encrypted", stores.size, [t for b in sealed for t in b], "plain",
              [t for b in plain for t in b], ratio=ratio)
    count = BLOCK * len(sealed)
    table.add("(a) CPU of a change in a session, encrypted", stores.size, [cpu["encrypted"] / count], "plain",
              [cpu["plain"] / count], ratio=cpu["encrypted"] / cpu["plain"])
    table.notes.append(f"session at {stores.size:,}: from its start to its first command's answer (Python, imports, "
                       f"the store's load; encrypted: the key's derivation too), once: {ms(first['plain'])} ms plain, "
                       f"{ms(first['encrypted'])} ms encrypted")


def cpu_seconds(session: Session) -> float:
    """The CPU time (user and system, all its threads) the session's process has used so far, from /proc: what a
    change costs the machine, which the disk's fsync time (that a busy disk stretches) does not hide."""
    fields = Path(f"/proc/{session.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_shot(taskvault: str, command: str, side: str, env: dict[str, str]) -> Callable[[int], float]:
    """The n-th run of a one-shot ``command`` in ``env``, timed (each add adds a task of its own)."""
    if command == "add":
        return lambda n: run_timed([taskvault, "add", f"One-shot {side} {n}", "--tag", TAG], env)
    return lambda n: run_timed([taskvault, command], env)


def one_shots(stores: Stores, pairs: int, table: Table, how: str, sealed_env: dict[str, str]) -> None:
    """(b) or (c): one-shot add and list on the encrypted store, paired with each plain path."""
    stores.plain_resident.start([stores.taskvault, "list"])
    label = "b" if how == "passphrase file" else "c"
    for command in ("add", "list"):
        on_sealed = one_shot(stores.taskvault, command, "sealed", sealed_env)
        for plain_name, plain_env in (("plain, in-process", stores.plain_env()),
                                      ("plain, resident", stores.plain_env(resident=True))):
            print(f"{stores.size:,} tasks: one-shot {command}, encrypted ({how}) vs {plain_name}, {pairs} pairs …",
                  flush=True)
            sealed, plain = interleaved(on_sealed, one_shot(stores.taskvault, command, "plain", plain_env), pairs)
            table.add(f"({label}) one-shot {command}, encrypted ({how})", stores.size, sealed, plain_name, plain)
        stores.plain_resident.check_same(f"one-shot {command}")
    served = stores.sealed_runtime.serving()
    table.notes.append(f"one-shot on the encrypted store at {stores.size:,} ({how}): "
                       + ("a resident process served it" if served else
                          "no resident process served it (each command ran in its own process)"))


def keyring_backend(python: str) -> str | None:
    """Why the keyring cannot be measured here, or None when the installed interpreter's keyring has a backend."""
    code = ("import keyring\nk = keyring.get_keyring()\n"
            "print(type(k).__module__ + '.' + type(k).__name__, getattr(k, 'priority', 0))")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode:
        return f"the keyring package does not load ({done.stderr.strip().splitlines()[-1:]})"
    name, _, priority = done.stdout.strip().rpartition(" ")
    if name.startswith("keyring.backends.fail") or (name.endswith("ChainerBackend") and float(priority or 0) <= 0):
        return f"no OS keyring here (keyring's backend is {name}: no Secret Service on D-Bus, no Keychain)"
    return None


def with_keyring(stores: Stores, pairs: int, table: Table) -> None:
    """(c) Give the encrypted store a keyring entry (rekey --keyring), measure, then remove it (rekey --no-keyring)."""
    env = stores.sealed_env() | {"TASKVAULT_RESIDENT": "off", "TASKVAULT_NEW_PASSPHRASE_FILE": str(stores.secrets[1])}
    del env["TASKVAULT_KEYRING"]  # (the passphrase-file runs turn it off)
    stores.run(env, "rekey", "--keyring")
    stores.secret = stores.secrets[1]
    try:
        one_shots(stores, pairs, table, "keyring", stores.sealed_env(keyring=True))
    finally:
        env = stores.sealed_env() | {"TASKVAULT_RESIDENT": "off", "TASKVAULT_NEW_PASSPHRASE_FILE": str(stores.secrets[2])}
        del env["TASKVAULT_KEYRING"]
        stores.run(env, "rekey", "--no-keyring")
        stores.secret = stores.secrets[2]


def key_derivation(stores: Stores, runs: int, table: Table) -> None:
    """(d) scrypt with the store's own parameters and salt, the passphrase as the store takes it (UTF-8, NFC)."""
    slots = stores.header().get("slots")
    slot = next((s for s in slots if isinstance(s, dict) and s.get("type") == "passphrase"), None) \
        if isinstance(slots, list) else None
    if slot is None or slot.get("kdf") != "scrypt":
        table.notes.append(f"(d) not measured: the header of {stores.sealed}/tasks.json has no scrypt passphrase slot")
        return
    n, r, p = int(slot["n"]), int(slot["r"]), int(slot["p"])
    salt = base64.b64decode(slot["salt"])
    secret = unicodedata.normalize("NFC", stores.secret.read_text(encoding="utf-8").splitlines()[0]).encode()
    maxmem = 2 * 128 * r * (n + p)  # scrypt needs 128 r (n + p) bytes; OpenSSL's default limit (32 MiB) is too tight

    def derive() -> float:
        start = time.perf_counter()
        hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32)
        return time.perf_counter() - start

    table.add(f"(d) key derivation alone (scrypt N={n} r={r} p={p})", None, [derive() for _ in range(runs)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="store sizes, comma-separated")
    parser.add_argument("--pairs", type=int, default=11, help="interleaved pairs per one-shot comparison")
    parser.add_argument("--changes", type=int, default=1000, help="changes timed in a session on each store")
    parser.add_argument("--kdf-runs", type=int, default=11, help="key derivations timed")
    parser.add_argument("--dir", default=None, help="where to build the stores (default: a temp dir)")
    parser.add_argument("--quick", action="store_true", help="for developers: size 300, 3 pairs, 200 changes")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.pairs, args.changes, args.kdf_runs = "300", 3, 200, 3
    python = sys.executable
    taskvault = installed_taskvault(python)
    compile_installed()
    root = Path(tempfile.mkdtemp(prefix="tv-enc-", dir=args.dir))  # short: sockets' paths are limited
    secrets = []
    for n, phrase in enumerate(PASSPHRASES):
        path = root / f"passphrase-{n}"
        path.write_text(phrase + "\n", encoding="utf-8")
        path.chmod(0o600)
        secrets.append(path)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")}
    no_keyring = keyring_backend(interpreter(taskvault))
    table = Table()
    began = time.perf_counter()
    every: list[Stores] = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            stores = Stores(taskvault, root, size, base_env, secrets)
            every.append(stores)
            stores.build(table)
            session_changes(stores, args.changes, table)
            one_shots(stores, args.pairs, table, "passphrase file", stores.sealed_env())
            if no_keyring is None:
                with_keyring(stores, args.pairs, table)
            key_derivation(stores, args.kdf_runs, table)
            stores.stop()
        if no_keyring is not None:
            table.notes.append(f"(c) skipped: {no_keyring}")
        table.print()
        print(f"\n{time.perf_counter() - began:.0f} s in all")
    finally:
        for stores in every:
            stores.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
