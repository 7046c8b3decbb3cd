"""The release as a user gets it: one version, a wheel and an sdist that PyPI would take, and a wheel that
installs into a clean virtual environment with its command and its man page.

The build runs ``python -m build --no-isolation``, with the hatchling of the test extra: the test needs
no download to build, and builds with the backend version the extra pins. (``pip install .``, which the
README's test command runs, builds in isolation: both ways are exercised.) ``python -m build`` makes the
sdist first and the wheel from the sdist, so a wheel at all proves the sdist holds what a build needs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from taskvault import __version__

from .test_manpage import _tool

ROOT = Path(__file__).resolve().parent.parent
MAN_PAGE = "share/man/man1/taskvault.1"

#: Where a version number may be written other than __init__.py: history, which a new version leaves true.
_HISTORY = (
    ("docs/changelog.md", re.compile(r"^## (?P<v>\S+) — \d{4}-\d\d-\d\d$")),  # a release's heading
    ("specs/*/spec.md", re.compile(r"\*\*Status:\*\* implemented \((?P<v>[^)]+)\)")),  # the release it came in
)


def _tracked_files() -> list[Path]:
    """The checkout's files (git's list when there is one: CI runs in a fresh clone)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode == 0 and listed.stdout:
        return [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    ignored = {".venv", ".git", "dist", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
    return [p for p in ROOT.rglob("*") if p.is_file() and not ignored & set(p.relative_to(ROOT).parts)]


class TestOneVersion:
    def test_pyproject_reads_the_version_from_the_package(self) -> None:
        """pyproject.toml has no version of its own: hatch reads src/taskvault/__init__.py."""
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        assert "version" not in project["project"]
        assert project["project"]["dynamic"] == ["version"]
        assert project["tool"]["hatch"]["version"]["path"] == "src/taskvault/__init__.py"

    def test_no_other_file_writes_the_version(self) -> None:
        """The version's digits appear in no file but __init__.py, the generated man page (test_manpage holds it to
        the generator) and the history a new version leaves true (changelog headings, the release a spec came in)."""
        written = re.compile(rf"(?<![\w.]){re.escape(__version__)}(?![\w.])")
        found = []
        for path in _tracked_files():
            relative = path.relative_to(ROOT).as_posix()
            if relative in ("src/taskvault/__init__.py", MAN_PAGE) or path.suffix in (".png", ".pyc"):
                continue
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (UnicodeDecodeError, FileNotFoundError):
                continue
            history = [pattern for glob, pattern in _HISTORY if Path(relative).match(glob)]
            for number, line in enumerate(lines, 1):
                if written.search(line) and not any((m := p.search(line)) and m["v"] == __version__ for p in history):
                    found.append(f"{relative}:{number}: {line.strip()}")
        assert not found, "the version is written outside src/taskvault/__init__.py:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from this checkout as a release would be."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _one(directory: Path, pattern: str) -> Path:
    [path] = directory.glob(pattern)
    return path


@pytest.mark.slow
class TestDistributions:
    def test_the_names_carry_the_version(self, dist: Path) -> None:
        """The build makes one sdist and one wheel of this version, and nothing else."""
        assert sorted(p.name for p in dist.iterdir()) == [f"taskvault-{__version__}-py3-none-any.whl",
                                                          f"taskvault-{__version__}.tar.gz"]

    def test_twine_finds_the_metadata_and_the_readme_fit_for_pypi(self, dist: Path) -> None:
        """twine check --strict passes: the README renders as the long description, nothing is missing."""
        result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("PASSED") == 2

    def test_the_metadata_says_what_a_packager_asks(self, dist: Path) -> None:
        """The wheel's metadata has the licence, the README as Markdown, the Python it needs and classifiers."""
        with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
            metadata = wheel.read(f"taskvault-{__version__}.dist-info/METADATA").decode()
        headers = set(metadata.partition("\n\n")[0].splitlines())
        assert {f"Version: {__version__}", "License-Expression: MIT", "Requires-Python: >=3.11",
                "Description-Content-Type: text/markdown", "Classifier: Environment :: Console"} <= headers
        assert any(h.startswith("Keywords: ") for h in headers)
        assert metadata.partition("\n\n")[2].startswith("# taskvault\n")

    def test_the_wheel_holds_the_package_the_command_and_the_man_page(self, dist: Path) -> None:
        """The wheel installs the package, scripts/taskvault as the command and the man page under share/man."""
        data = f"taskvault-{__version__}.data"
        with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
            names = set(wheel.namelist())
            assert wheel.read(f"{data}/data/{MAN_PAGE}") == (ROOT / MAN_PAGE).read_bytes()
            assert wheel.read(f"{data}/scripts/taskvault") == (ROOT / "scripts" / "taskvault").read_bytes()
        assert {"taskvault/__init__.py", "taskvault/cli/main.py", "taskvault/cli/manpage.py"} <= names
        assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n or n.endswith(".pyc")]

    def test_the_sdist_holds_what_a_build_and_the_tests_need_and_no_working_tree(self, dist: Path) -> None:
        """The sdist has the source, scripts, man page, README, docs, specs and tests; no venv, cache or build."""
        top = f"taskvault-{__version__}/"
        with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
            names = {name.removeprefix(top) for name in sdist.getnames()}
        assert {"pyproject.toml", "README.md", "PKG-INFO", "src/taskvault/__init__.py", "scripts/taskvault", MAN_PAGE,
                "docs/guide.md", "tests/conftest.py", "specs/conftest.py"} <= names
        unwanted = re.compile(r"(^|/)(\.venv|\.git|\.ci|dist|build|__pycache__|\.\w+_cache|\.hypothesis)(/|$)|\.pyc$")
        assert not sorted(n for n in names if unwanted.search(n))


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_runs(dist: Path, tmp_path: Path) -> None:
    """pip installs the wheel into a new venv (its dependencies from PyPI): taskvault runs there, and man finds its
    page through the venv's bin on PATH, as man-db maps <prefix>/bin to <prefix>/share/man."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          str(_one(dist, "*.whl"))], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    command = venv / "bin" / "taskvault"
    assert command.read_text(encoding="utf-8").startswith(f"#!{venv / 'bin' / 'python'}")

    # A clean environment: a data directory of the test's own, no resident process left behind.
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LC_ALL": "C.UTF-8",
           "TASKVAULT_RESIDENT": "off", "TASKVAULT_CONFIG": "/dev/null", "TASKVAULT_DATA_DIR": str(tmp_path / "data")}
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, env=env)
    assert (version.returncode, version.stdout, version.stderr) == (0, f"taskvault {__version__}\n", "")
    added = subprocess.run(["taskvault", "add", "x"], capture_output=True, text=True, env=env)
    assert (added.returncode, added.stdout) == (0, "Added task 1: x\n"), added.stderr
    listed = subprocess.run(["taskvault", "--json", "list"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert '"title": "x"' in listed.stdout

    page = venv / MAN_PAGE
    assert page.read_bytes() == (ROOT / MAN_PAGE).read_bytes()
    found = subprocess.run([_tool("man"), "-w", "taskvault"], capture_output=True, text=True,
                           env=env | {"MANPAGER": "cat"})
    assert (found.returncode, found.stdout.strip()) == (0, str(page)), found.stderr
    shown = subprocess.run([_tool("man"), "taskvault"], capture_output=True, text=True,
                           env=env | {"MANPAGER": "cat", "MANWIDTH": "80"})
    assert shown.returncode == 0, shown.stderr
    assert "taskvault - a terminal task manager" in " ".join(shown.stdout.split())
