"""taskvault's own options and its environment variables have one home, commands/settings.py, which the
parser, help and docs/commands.md all read: a setting none of them knows cannot be added by one alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import taskvault
from taskvault.cli import config
from taskvault.commands.settings import ENVIRONMENT, GLOBAL_OPTIONS

from .conftest import run_taskvault

PACKAGE = Path(taskvault.__file__).parent
#: The checkout's docs (the package may be installed elsewhere: CI installs it into a virtual environment).
DOCS = Path(__file__).resolve().parent.parent / "docs"
#: What a program's environment is called where the code reads it.
_ENVIRONMENTS = {"env", "environ"}


def _is_environment(node: ast.expr) -> bool:
    """``env``, ``environ`` or ``os.environ``."""
    return (isinstance(node, ast.Name) and node.id in _ENVIRONMENTS) or (
        isinstance(node, ast.Attribute) and node.attr == "environ")


def _literal_lookups(source: str) -> list[str]:
    """The environment variables ``source`` looks up by a name written out in place."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name: ast.expr | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if (node.func.attr == "get" and _is_environment(node.func.value)) or node.func.attr == "getenv":
                name = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environment(node.value):
            name = node.slice
        elif isinstance(node, ast.Compare) and any(_is_environment(c) for c in node.comparators):
            name = node.left  # "NAME" in env
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            found.append(f"{name.value} (line {node.lineno})")
    return found


@pytest.mark.parametrize("source", [
    'env.get("TZ", "")', 'os.environ["COLUMNS"]', '"TASKVAULT_DATA_DIR" in env', 'os.getenv("NO_COLOR")',
])
def test_a_name_written_in_place_is_found(source: str) -> None:
    assert len(_literal_lookups(source)) == 1


def test_every_variable_is_read_by_its_name_in_settings() -> None:
    """No module looks up an environment variable by a name of its own: each comes from the table."""
    written = {str(path.relative_to(PACKAGE)): found for path in PACKAGE.rglob("*.py")
               if (found := _literal_lookups(path.read_text(encoding="utf-8")))}
    assert not written, f"name these in commands/settings.py ENVIRONMENT and read them from there: {written}"


def test_every_option_in_the_table_is_parsed() -> None:
    """Each global option sets its own attribute, and GlobalOptions has one attribute per option."""
    assert {o.field for o in GLOBAL_OPTIONS} == set(config.GlobalOptions.__slots__)
    for option in GLOBAL_OPTIONS:
        for spelling in (option.name, *option.aliases):
            value = "never" if option.field == "color" else "x"  # (--color takes auto, always or never)
            argv = [spelling, value] if option.metavar else [spelling]
            options, rest = config.split_global_options([*argv, *([] if option.field == "script" else ["list"])])
            assert getattr(options, option.field) == (value if option.metavar else True), spelling
            assert rest == ([] if option.field == "script" else ["list"])


def test_help_and_the_reference_list_every_option_and_variable(tmp_path: Path) -> None:
    """`taskvault --help` and docs/commands.md name every global option and environment variable."""
    result = run_taskvault(tmp_path / "data", "--help")
    assert result.code == 0, result
    options = result.out.split("\nOptions:\n")[1].split("\n\n")[0]
    environment = result.out.split("\nEnvironment:\n")[1].split("\n\n")[0]
    reference = (DOCS / "commands.md").read_text(encoding="utf-8")
    for option in GLOBAL_OPTIONS:
        assert f"  {option.usage} " in options and f"| `{option.usage}` | {option.help} |" in reference, option
    for variable in ENVIRONMENT:
        assert f"  {variable.name} " in environment and f"| `{variable.name}` | {variable.help} |" in reference, variable
    assert len(options.splitlines()) == len(GLOBAL_OPTIONS) and len(environment.splitlines()) == len(ENVIRONMENT)


def test_every_taskvault_variable_named_in_the_code_is_in_the_table() -> None:
    """A hint or message that names a TASKVAULT_ variable names one taskvault reads and documents."""
    known = {variable.name for variable in ENVIRONMENT}
    named = {match for path in PACKAGE.rglob("*.py")
             for match in re.findall(r"\bTASKVAULT_[A-Z_]+\b", path.read_text(encoding="utf-8"))}
    assert named and named <= known, named - known
