"""The docs stay true: every example runs, every command and error is documented and specified."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from taskvault import errors
from taskvault.commands import reference
from taskvault.commands.catalog import COMMANDS

from . import transcript
from .conftest import FIGURES, error_classes, run_taskvault

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE_FILES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_FENCE = re.compile(r"^(\s*)```(\S*)")
_ILLUSTRATIVE = re.compile(r"<!-- illustrative: \S.* -->")


def _blocks(path: Path) -> list[tuple[int, str, list[str], str]]:
    """Every fenced block: (line, info string, lines, the text just before it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            blocks.append((index + 1, fence.group(2), lines[index + 1: end], before))
            index = end
        index += 1
    return blocks


def _doc_scenarios() -> list[transcript.Scenario]:
    return [scenario for path in EXAMPLE_FILES for scenario in transcript.parse(path)]


def _spec_scenarios() -> list[transcript.Scenario]:
    return [scenario for path in sorted((ROOT / "specs").glob("*/*.md")) for scenario in transcript.parse(path)]


_RAN: list[int] = []


@pytest.mark.parametrize("scenario", _doc_scenarios(), ids=lambda s: s.name)
def test_doc_examples_run(scenario: transcript.Scenario, tmp_path: Path) -> None:
    """The console blocks of README and docs/ print exactly what they show."""
    reason = transcript.skip_reason(scenario)
    if reason:
        pytest.skip(reason)
    _RAN.append(transcript.run(scenario, tmp_path))
    FIGURES["doc examples run"] = f"{sum(_RAN)} steps in {len(_RAN)} files"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_runs_or_says_why_not(path: Path) -> None:
    """A block that shows a taskvault command is a console transcript, or is marked illustrative."""
    for line, info, body, before in _blocks(path):
        shows_command = any(re.match(r"(\$ )?taskvault\b", text.strip()) for text in body)
        if shows_command and info != "console":
            assert _ILLUSTRATIVE.search(before), (
                f"{path.name}:{line}: a block with taskvault commands must be a ```console transcript "
                "or follow <!-- illustrative: REASON -->")


def test_commands_reference_is_generated_from_the_registry() -> None:
    """docs/commands.md is byte for byte what its generator writes (the registry, the settings, the exit codes)."""
    generated = subprocess.run([sys.executable, "-m", "taskvault.commands.reference"], capture_output=True,
                               check=True, timeout=60).stdout
    assert generated == reference.markdown().encode("utf-8")
    assert (DOCS / "commands.md").read_bytes() == generated, (
        "docs/commands.md is stale: run python -m taskvault.commands.reference > docs/commands.md")


@pytest.mark.parametrize("command", list(COMMANDS), ids=lambda c: c.name)
def test_every_command_is_helped_documented_and_specified(command) -> None:  # type: ignore[no-untyped-def]
    assert command.summary and command.examples, f"{command.name} needs a summary and an example"
    assert all(o.help for o in command.all_options) and all(a.help for a in command.arguments)
    assert f"\n## {command.name}\n" in (DOCS / "commands.md").read_text(encoding="utf-8")
    # (global options before the command, with their values: taskvault --data-dir laptop sync)
    runs = re.compile(rf"taskvault(\s+--\S+(\s+[^-\s]\S*)?)*\s+{command.name}\b|^{command.name}\b", re.MULTILINE)
    steps = [step for scenario in _spec_scenarios() for step in scenario.steps]
    assert any(runs.search(step.text) for step in steps), f"no scenario in specs/ runs '{command.name}'"


@pytest.mark.parametrize("command", list(COMMANDS), ids=lambda c: c.name)
def test_every_registry_example_works(command, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The examples shown by help and docs/commands.md succeed on a store of seven tasks (task 1 tagged home, task 3
    annotated), one done, with one change undone (for redo) and a backup (for restore)."""
    seed = ("add Task 1 --tag home\n" + "".join(f"add Task {n}\n" for n in range(2, 8))
            + "annotate 3 the plumber called\ndone 1\ndone 2\nundo\nbackup\n")
    config = data_dir / "config" / "taskvault" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[contexts]\nhome = "+home"\n[reports.mine]\nfilter = "+home or +errand"\n'
                      'columns = ["id", "title", "urgency"]\nsort = "urgency-"\n', encoding="utf-8")
    # The encryption commands' passphrases: the current one, and the new one rekey sets (docs/encryption.md).
    passphrases = {}
    for variable, words in (("TASKVAULT_PASSPHRASE_FILE", "correct horse battery"),
                            ("TASKVAULT_NEW_PASSPHRASE_FILE", "another good passphrase")):
        path = data_dir / variable.lower()
        path.write_text(words + "\n", encoding="utf-8")
        path.chmod(0o600)
        passphrases[variable] = str(path)
    env = {"TASKVAULT_CONFIG": str(config), **passphrases}
    for number, example in enumerate(command.examples):
        store = data_dir / str(number)
        if example.startswith("init"):
            store.mkdir()  # a new store, where there is none
        else:
            assert run_taskvault(store, stdin=seed).code == 0
        if command.name in ("rekey", "decrypt"):  # what they change is an encrypted store
            current = {"TASKVAULT_PASSPHRASE_FILE": passphrases["TASKVAULT_PASSPHRASE_FILE"]}
            assert run_taskvault(store, "encrypt", "--yes", env=current).code == 0
        result = run_taskvault(store, *shlex.split(example), env=env)
        assert result.code == 0, f"taskvault {example}: {result.err}"


@pytest.mark.parametrize("error", error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_is_in_troubleshooting(error: type[errors.TaskvaultError]) -> None:
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    assert f"`{error.__name__}`" in text and f"`{error.kind}`" in text, (
        f"docs/troubleshooting.md must explain {error.__name__} (kind `{error.kind}`)")


def test_every_exit_code_is_documented() -> None:
    from taskvault.commands.help import EXIT_CODES

    for path in (ROOT / "README.md", DOCS / "troubleshooting.md"):
        text = path.read_text(encoding="utf-8")
        for code, _ in EXIT_CODES:
            assert re.search(rf"^\| {code} \|", text, re.MULTILINE), f"{path.name} lacks exit code {code}"


def test_the_guide_gives_every_limit() -> None:
    """Each limit of taskvault.limits and of the task model is quoted in the guide's Limits section."""
    from taskvault import limits
    from taskvault.domain import task

    guide = (DOCS / "guide.md").read_text(encoding="utf-8")
    section = guide.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    values = {name: getattr(limits, name) for name in dir(limits) if name.startswith("MAX_")}
    values |= {"TITLE_MAX": task.TITLE_MAX, "NOTE_MAX": task.NOTE_MAX, "TAG_MAX": task.TAG_MAX,
               "TAGS_MAX": task.TAGS_MAX}
    for name, value in values.items():
        assert f"{value:,}" in section, f"docs/guide.md (Limits) does not give {name} = {value:,}"


def test_docs_link_to_files_that_exist() -> None:
    for path in EXAMPLE_FILES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_within_a_page_name_its_headings() -> None:
    for path in EXAMPLE_FILES:
        text = path.read_text(encoding="utf-8")
        anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}
        for anchor in re.findall(r"\]\(#([^)]+)\)", text):
            assert anchor in anchors, f"{path.name} links to #{anchor}, which no heading there makes"
