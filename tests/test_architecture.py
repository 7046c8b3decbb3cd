"""The layers and the imports allowed between them: an explicit table, checked for every import.

Each layer imports only the layer below it, plus domain and errors: the interface (cli) reaches the
store only through commands and the service, and objects are built in one composition root,
taskvault/bootstrap.py, which only cli/main.py imports. Every import counts, at module level, inside a
function or under ``if TYPE_CHECKING:``: a lazy import is still an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import taskvault

PACKAGE = Path(taskvault.__file__).parent

#: The layer of each part of the package (a module or a package of modules).
LAYER_OF = {
    "__init__": "version",  # taskvault/__init__.py holds the version and nothing else
    "__main__": "entry",
    "cli": "cli",
    "bootstrap": "bootstrap",
    "commands": "commands",
    "interchange": "interchange",  # other tools' formats: bytes to tasks and back, no files (see its __init__)
    "service": "service",
    "store": "store",
    "codec": "codec",
    "domain": "domain",
    "errors": "errors",
    "limits": "limits",
    "exits": "exits",  # the exit codes no error class carries: a leaf, as limits is
}

#: Which layers each layer may import, besides itself. Nothing else is allowed.
ALLOWED = {
    "entry": {"cli"},
    "cli": {"commands", "service", "bootstrap", "interchange", "domain", "errors", "exits", "limits", "version"},
    "bootstrap": {"service", "store", "domain", "errors"},
    "commands": {"service", "interchange", "domain", "errors", "exits", "limits"},
    "interchange": {"domain", "errors"},
    "service": {"store", "codec", "domain", "errors"},
    "store": {"codec", "domain", "errors"},
    "codec": {"domain", "errors"},
    "domain": {"errors"},
    "errors": {"exits", "limits"},
    "limits": set(),
    "exits": set(),
    "version": set(),
}

#: The only modules that may import the composition root: the program's starts (a command's process, and
#: the resident process that runs one-shot commands for it).
BOOTSTRAP_IMPORTERS = {"taskvault.cli.main", "taskvault.cli.resident_server"}

IO_MODULES = {"os", "io", "pathlib", "json", "shutil", "tempfile", "portalocker", "prompt_toolkit", "subprocess",
              "sys", "socket"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("taskvault", *parts))


def _is_module(name: str) -> bool:
    """True when ``name`` (taskvault.x.y) is a module or package of this source tree."""
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, anywhere in it; ``from X import y`` counts as X.y when y is a module."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                found.append(candidate if module.startswith("taskvault") and _is_module(candidate) else module)
    return found


def _layer(module: str) -> str | None:
    """The layer of a taskvault module; None for anything outside the package."""
    parts = module.split(".")
    if parts[0] != "taskvault":
        return None
    if len(parts) == 1:
        return LAYER_OF["__init__"]
    layer = LAYER_OF.get(parts[1])
    assert layer is not None, f"{module} belongs to no layer: add it to LAYER_OF and ALLOWED"
    return layer


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_is_an_allowed_edge(path: Path) -> None:
    """Each import of a taskvault module is of the module's own layer or of one ALLOWED lists for it."""
    name = _module_name(path)
    own = _layer(name)
    wrong = []
    for module in _imports(path):
        other = _layer(module)
        if other is None or other == own:
            continue
        if other not in ALLOWED[own]:
            wrong.append(f"{module} ({other})")
        elif other == "bootstrap" and name not in BOOTSTRAP_IMPORTERS:
            wrong.append(f"{module} (only {', '.join(sorted(BOOTSTRAP_IMPORTERS))} may import the composition root)")
    assert not wrong, f"{name} ({own}) imports " + ", ".join(wrong)


def test_the_table_names_every_layer() -> None:
    """Every part of the package has a layer, and every layer a row of allowed edges."""
    for path in PACKAGE.iterdir():
        if path.suffix == ".py" or (path / "__init__.py").is_file():
            assert path.stem in LAYER_OF, f"{path.name} belongs to no layer: add it to LAYER_OF and ALLOWED"
    assert set(LAYER_OF.values()) == set(ALLOWED)
    assert all(allowed <= set(ALLOWED) for allowed in ALLOWED.values())


@pytest.mark.parametrize(("source", "expected"), [
    ("from ..store.backups import Backup", ["taskvault.store.backups"]),
    ("from .. import codec, errors", ["taskvault.codec", "taskvault.errors"]),
    ("from .. import __version__", ["taskvault"]),
    ("from . import registry", ["taskvault.commands.registry"]),
    ("def f():\n    from ..store import doctor", ["taskvault.store.doctor"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..store.salvage import SalvageReport",
     ["typing", "taskvault.store.salvage"]),
    ("import taskvault.store.layout", ["taskvault.store.layout"]),
])
def test_imports_are_found_wherever_they_are(source: str, expected: list[str]) -> None:
    """The checker sees relative, lazy and TYPE_CHECKING imports, as written in a module of commands/."""
    assert _imports_in(source, "taskvault.commands") == expected


def test_the_interface_may_not_reach_the_store() -> None:
    """The table itself: cli/ and commands/ get to the store and the codec only through the service."""
    for interface in ("cli", "commands"):
        assert not ALLOWED[interface] & {"store", "codec"}


def test_domain_does_no_io() -> None:
    """The domain imports no I/O library."""
    for path in (PACKAGE / "domain").rglob("*.py"):
        assert not {m.split(".")[0] for m in _imports(path)} & IO_MODULES, path


def test_interchange_does_no_io() -> None:
    """The formats translate bytes they are given and yield text: they open, write and run nothing."""
    for path in (PACKAGE / "interchange").rglob("*.py"):
        assert not {m.split(".")[0] for m in _imports(path)} & (IO_MODULES - {"json", "io"}), path


def test_prompt_toolkit_stays_in_the_interface() -> None:
    """Nothing below the interface imports prompt_toolkit."""
    for path in PACKAGE.rglob("*.py"):
        if "cli" not in path.parts and "repl" not in path.parts:
            assert not any(m.startswith("prompt_toolkit") for m in _imports(path)), path


#: os functions that change what is on disk. Only store/files.py may call them.
DISK_WRITES = {"write", "pwrite", "writev", "replace", "rename", "ftruncate", "truncate", "unlink", "remove",
               "rmdir", "fsync", "fdatasync", "makedirs", "mkdir", "chmod", "link", "symlink"}


#: The one other thing taskvault writes: the resident process's socket, in a directory of its own (not the store).
RESIDENT_WRITES = {"mkdir", "unlink"}


def test_exactly_one_module_writes_the_disk() -> None:
    """Every write, rename, truncate, fsync or unlink of the store is in store/files.py, nowhere else; the
    resident process makes its socket's directory and removes its socket, and writes nothing else."""
    writers = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                func = node.func
                by_os = isinstance(func.value, ast.Name) and func.value.id == "os" and func.attr in DISK_WRITES
                if by_os or func.attr in ("write_bytes", "write_text"):
                    writers.setdefault(str(path.relative_to(PACKAGE)), []).append(f"{func.attr}:{node.lineno}")
    resident = writers.pop("cli/resident_server.py", [])
    assert {call.split(":")[0] for call in resident} <= RESIDENT_WRITES, resident
    assert set(writers) == {"store/files.py"}, writers
