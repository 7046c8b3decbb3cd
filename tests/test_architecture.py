"""Imports point one way: interface → commands → service → store → codec → domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import taskvault

PACKAGE = Path(taskvault.__file__).parent
LAYERS = ["domain", "codec", "store", "service", "commands", "cli"]
IO_MODULES = {"os", "io", "pathlib", "json", "shutil", "tempfile", "portalocker", "prompt_toolkit", "subprocess",
              "sys", "socket"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "taskvault" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def _imports(path: Path) -> list[str]:
    package = "taskvault." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                found.append(".".join(base + ([node.module] if node.module else [])))
            else:
                found.append(node.module or "")
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.stem in LAYERS)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    """No module imports a layer above its own."""
    own = _layer("taskvault." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    assert own is not None
    for module in _imports(path):
        other = _layer(module)
        if other is not None:
            assert LAYERS.index(other) <= LAYERS.index(own), f"{path.name} ({own}) imports {module}"


def test_domain_does_no_io() -> None:
    """The domain imports no I/O library."""
    for path in (PACKAGE / "domain").rglob("*.py"):
        assert not set(m.split(".")[0] for m in _imports(path)) & IO_MODULES, path


def test_prompt_toolkit_stays_in_the_interface() -> None:
    """Nothing below the interface imports prompt_toolkit."""
    for path in PACKAGE.rglob("*.py"):
        if "cli" not in path.parts and "repl" not in path.parts:
            assert not any(m.startswith("prompt_toolkit") for m in _imports(path)), path


#: os functions that change what is on disk. Only store/files.py may call them.
DISK_WRITES = {"write", "pwrite", "writev", "replace", "rename", "ftruncate", "truncate", "unlink", "remove",
               "rmdir", "fsync", "fdatasync", "makedirs", "mkdir", "chmod", "link", "symlink"}


def test_exactly_one_module_writes_the_disk() -> None:
    """Every write, rename, truncate, fsync or unlink of the store is in store/files.py, nowhere else."""
    writers = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                func = node.func
                by_os = isinstance(func.value, ast.Name) and func.value.id == "os" and func.attr in DISK_WRITES
                if by_os or func.attr in ("write_bytes", "write_text"):
                    writers.setdefault(str(path.relative_to(PACKAGE)), []).append(f"{func.attr}:{node.lineno}")
    assert set(writers) == {"store/files.py"}, writers
