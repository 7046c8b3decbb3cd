"""One-shot commands on an encrypted store against a plain one, both served by their resident process.

Issue 21: a one-shot command on an encrypted store may cost at most 1.2× the same command on a plain store.
Two stores of the same tasks (built once through a script, the second then encrypted, its passphrase in a
mode-600 file named by TASKVAULT_PASSPHRASE_FILE), each with a resident process of its own started as a
user's first command starts it and verified serving (bench/resident.py). Each command then runs in
interleaved pairs, plain and encrypted, alternating which goes first, so that a busy moment of the shared
machine touches both; the figure is the median of the per-pair ratios (encrypted / plain). After the pairs
the same resident processes must still be the ones serving (else some runs paid the load: the run stops).
Beside it, the same command in its own process (TASKVAULT_RESIDENT=off): what it costs without them.

    python bench/encrypted_resident.py [--tasks 1000] [--pairs 40] [--only list,add]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import run_timed

from resident import Resident, interpreter

PASSPHRASE = "correct horse battery staple"
COMMANDS = {"list": ["list"], "add": ["add", "Benchmark task", "+bench"]}


def pairs(script: list[str], args: list[str], plain: dict[str, str], sealed: dict[str, str], count: int) -> list[float]:
    """Per-pair ratios encrypted/plain, alternating which side runs first."""
    ratios = []
    for i in range(count):
        if i % 2:
            b = run_timed([*script, *args], sealed)
            a = run_timed([*script, *args], plain)
        else:
            a = run_timed([*script, *args], plain)
            b = run_timed([*script, *args], sealed)
        ratios.append(b / a)
    return ratios


def medians(script: list[str], args: list[str], env: dict[str, str], count: int) -> float:
    return statistics.median(run_timed([*script, *args], env) for _ in range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--only", default="list,add")
    options = parser.parse_args()
    console = str(Path(sys.executable).parent / "taskvault")
    script = [interpreter(console), console]
    root = Path(tempfile.mkdtemp(prefix="taskvault-encrypted-bench-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TASKVAULT_", "XDG_"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base |= {"NO_COLOR": "1", "TASKVAULT_CONFIG": "/dev/null", "TASKVAULT_KEYRING": "off", "COLUMNS": "120"}
    secret = root / "pass"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    plain_store, sealed_store = root / "plain", root / "sealed"
    lines = "".join(f"add Task number {n} +tag{n % 7} project:p{n % 5}\n" for n in range(1, options.tasks + 1))
    build = {**base, "TASKVAULT_RESIDENT": "off", "TASKVAULT_DATA_DIR": str(plain_store)}
    subprocess.run([*script, "--script", "/dev/stdin"], input=lines.encode(), env=build, check=True,
                   stdout=subprocess.DEVNULL)
    shutil.copytree(plain_store, sealed_store)
    subprocess.run([*script, "encrypt", "--yes"], check=True, stdout=subprocess.DEVNULL,
                   env={**build, "TASKVAULT_DATA_DIR": str(sealed_store), "TASKVAULT_PASSPHRASE_FILE": str(secret)})
    plain = Resident("plain", plain_store, root / "run-plain", base)
    sealed = Resident("encrypted", sealed_store, root / "run-sealed", base | {"TASKVAULT_PASSPHRASE_FILE": str(secret)})
    sealed.env["TASKVAULT_PASSPHRASE_FILE"] = str(secret)
    try:
        plain.start([*script, "list"])
        sealed.start([*script, "list"])
        print(f"{options.tasks} tasks, {options.pairs} interleaved pairs, medians")
        print(f"{'command':8} {'plain ms':>9} {'encrypted ms':>13} {'ratio':>6}   own process: plain, encrypted ms")
        for name in options.only.split(","):
            args = COMMANDS[name]
            for _ in range(3):  # (warm: bytecode, page cache)
                run_timed([*script, *args], plain.env)
                run_timed([*script, *args], sealed.env)
            ratios = pairs(script, args, plain.env, sealed.env, options.pairs)
            plain_ms = medians(script, args, plain.env, 11) * 1000
            sealed_ms = medians(script, args, sealed.env, 11) * 1000
            plain.check_same(name)
            sealed.check_same(name)
            own_plain = medians(script, args, {**plain.env, "TASKVAULT_RESIDENT": "off"}, 7) * 1000
            own_sealed = medians(script, args, {**sealed.env, "TASKVAULT_RESIDENT": "off"}, 7) * 1000
            print(f"{name:8} {plain_ms:9.1f} {sealed_ms:13.1f} {statistics.median(ratios):6.3f}"
                  f"   {own_plain:.1f}, {own_sealed:.1f}")
    finally:
        for server in (plain, sealed):
            left = server.stop()
            if left:
                print(f"{server.name}: resident processes still running: {left}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
