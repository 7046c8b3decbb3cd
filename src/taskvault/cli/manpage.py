"""taskvault(1), the manual page, generated from the registry as docs/commands.md is (commands/reference.py).

Regenerate with ``python -m taskvault.cli.manpage > share/man/man1/taskvault.1``; a test fails
when the committed page differs from what this prints, and another runs groff and man over it. The
wheel installs the committed page as ``share/man/man1/taskvault.1`` under its prefix (pyproject.toml).
Nothing imports this module but its tests: no command pays for it. It is of the interface layer, not of
commands/ as reference.py is, because its header names the version, which only cli/ imports.
"""

from __future__ import annotations

from .. import __version__
from ..commands.attributes import ATTRIBUTES
from ..commands.catalog import COMMANDS
from ..commands.help import EXIT_CODES
from ..commands.registry import Argument, Command, Option
from ..commands.settings import CONFIG, CONFIG_HOME, DATA_DIR, ENVIRONMENT, GLOBAL_OPTIONS
from ..domain.filtering import VIRTUAL_TAGS
from ..service import BACKUPS_NAME, STORE_FILE_NAMES

#: What the page says of itself, as its first line: the page is not to be edited by hand.
REGENERATE = "python -m taskvault.cli.manpage > share/man/man1/taskvault.1"

#: The day the version in __init__.py was released, as docs/changelog.md's heading for it gives it (a test holds
#: the two together): the page's date, so that the page is the same whenever it is generated.
RELEASED = "2026-11-21"

#: Characters the program's wording uses that are not ASCII, as roff writes them: groff and mandoc
#: both know these names, and each has an ASCII form on a terminal that cannot show it (man -Tascii).
#: The middle dot (\\(pc) has none in groff: it separates items, as an en dash does. Any other character
#: that is not ASCII is written by its code point, which an ASCII terminal cannot show.
_SPECIAL = {
    "…": "\\&...",
    "·": "\\(en",
    "→": "\\(->",
    "×": "\\(mu",
    "—": "\\(em",
    "–": "\\(en",
    "‘": "\\(oq",
    "’": "\\(cq",
    "“": "\\(lq",
    "”": "\\(rq",
}


def escape(text: str) -> str:
    """``text`` as roff prints it literally, on a text line of its own or within one.

    A backslash is roff's escape, ``-`` would be a hyphen (not the minus an option is typed with),
    ``'`` and ````` would be typographic quotes, and a ``.`` or ``'`` at the start of a line would make
    it a request; other characters that are not ASCII are written by their Unicode names.
    """
    out = []
    for char in text.replace("\\", "\\e"):
        if char == "-":
            out.append("\\-")
        elif char == "'":
            out.append("\\(aq")
        elif char == "`":
            out.append("\\(ga")
        elif char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif ord(char) > 127:
            out.append(f"\\[u{ord(char):04X}]")
        else:
            out.append(char)
    return "\n".join(f"\\&{line}" if line.startswith(".") else line for line in "".join(out).split("\n"))


#: The longest input line the page is written with (mandoc's style check asks for 80 bytes at most).
_WIDTH = 80


def _fill(roff: str) -> str:
    """Escaped text as text lines of at most _WIDTH bytes where words allow, a sentence's end ending its line
    (roff then knows the sentence ended); the line breaks ``roff`` had are spaces, as roff fills its text anyway."""
    lines: list[str] = []
    line = ""
    for word in roff.split():
        if line and len(line) + 1 + len(word) > _WIDTH:
            lines.append(line + "\\&" if line.endswith(".") else line)  # (not a sentence's end: TITLE...)
            line = word
        else:
            line = f"{line} {word}" if line else word
        if line.endswith((".", "?", "!", ".)")) and not line.endswith("..."):
            lines.append(line)
            line = ""
    lines.append(line)
    return "\n".join(f"\\&{text}" if text.startswith((".", "'")) else text for text in lines if text)


def _text(text: str) -> str:
    """Plain text as filled roff text lines."""
    return _fill(escape(text))


def _bold(text: str) -> str:
    return f"\\fB{escape(text)}\\fR"


def _italic(text: str) -> str:
    return f"\\fI{escape(text)}\\fR"


def _option_usage(name: str, metavar: str | None) -> str:
    return _bold(name) + (f" {_italic(metavar)}" if metavar else "")


def _argument_usage(argument: Argument) -> str:
    text = _italic(argument.name) + ("\\&..." if argument.many else "")
    return f"[{text}]" if argument.optional else text


def _synopsis(command: Command) -> str:
    parts = [_bold(f"taskvault {command.name}"), *(_argument_usage(a) for a in command.arguments)]
    parts += [f"[{_option_usage(o.name, o.metavar)}]" + ("\\&..." if o.repeat else "") for o in command.options]
    return " ".join(parts)


def _sentence(text: str) -> str:
    return _text(text[0].upper() + text[1:] + ".")


def _item(term: str, text: str) -> list[str]:
    """A tagged paragraph: ``term`` (already roff) on its own line, then ``text``."""
    return [".TP", term, _text(text)]


def _option_item(option: Option) -> list[str]:
    names = [_option_usage(option.short, option.metavar)] if option.short else []
    return _item(", ".join([*names, _option_usage(option.name, option.metavar)]), option.help)


def _command(command: Command) -> list[str]:
    lines = [".SS " + escape(command.name), _fill(_synopsis(command)), ".PP", _sentence(command.summary)]
    if command.description:
        lines += [".PP", _text(command.description)]
    if command.mutates:
        lines += [".PP", _text("Changes the store: the change is saved (appended and fsynced) before it is reported.")]
    if command.arguments:
        lines += [".PP", "Arguments:", ".RS 4"]
        for argument in command.arguments:
            lines += _item(_italic(argument.name), argument.help)
        lines += [".RE"]
    lines += [".PP", "Options:", ".RS 4"]
    for option in command.all_options:
        lines += _option_item(option)
    lines += [".RE"]
    if command.examples:
        lines += [".PP", "Examples:", ".RS 4", ".EX", *(escape(f"taskvault {e}") for e in command.examples),
                  ".EE", ".RE"]
    return lines


_INTRO = ("taskvault keeps your tasks in a small store on your own disk and never acknowledges a change before it "
          "is safely there. Its promises:")

#: README.md's "What it guarantees", in short: (the promise, what it means).
_PROMISES = (
    ("on disk before it is acknowledged",
     ("a line printed by taskvault, or an exit status of 0, means the change was written and fsynced; memory "
      "is updated only after that.")),
    ("a failed save changes nothing",
     ("disk full, an I/O error, permissions, a read-only file system or a lock that cannot be had give one "
      "line and exit status 3, and leave the files byte for byte as they were.")),
    ("a failure after a save says so",
     ("if anything fails once a change is on disk, the one line names the revision saved and the exit status "
      "is 4: running the command again would make the change twice.")),
    ("nothing is half-written",
     ("changes are appended to a checksummed journal and fsynced; whole files are replaced by write, fsync, "
      "rename and fsync of the directory. A crash loses at most the one change not yet acknowledged.")),
    ("two sessions at once lose nothing",
     "a lock serialises changes, and each change is applied to the latest state on disk."),
    ("a damaged store is refused, never read as empty",
     "the error names the file, what is wrong and what to do; the file is left untouched."),
    ("ids are stable",
     "task 7 is task 7 for ever: ids are never renumbered or reused."),
)

_MODES = (
    "With a command, taskvault runs it and exits (one-shot mode). With no command, it opens an interactive "
    "session on a terminal (a taskvault> prompt with completion, history and a status bar), and otherwise "
    "runs the commands on standard input, one per line (blank lines and # comments are skipped); "
    "--script FILE runs those of a file. Every command works the same in each mode."
)

_READING = (
    "taskvault's own options (OPTIONS below) go before the command word, and only there. Every word after the "
    "command word is the command's: its arguments and its options, in any order. A word starting with -- that "
    "the command does not know is refused (exit status 2). After --, every word is a plain word, so "
    "taskvault add -- Fix the --no-color docs adds a task of that title."
)


def _description() -> list[str]:
    lines = [".SH DESCRIPTION", _text(_INTRO)]
    for heading, text in _PROMISES:
        lines += _item(_bold(heading[0].upper() + heading[1:] + "."), text[0].upper() + text[1:])
    lines += [".PP", _text(_MODES), ".PP", _text(_READING), ".PP",
              _text("What each promise means and where it stops: docs/guarantees.md.")]
    return lines


def _attributes() -> list[str]:
    names = ", ".join(f"{name}:" for name in ATTRIBUTES)
    lines = [".SH ATTRIBUTES AND FILTERS",
             _text(f"add and modify take a task's fields from words among the title: {names} followed by a value, "
                    "+TAG to add a tag and, in modify, -TAG to remove one (an attribute with nothing after the colon, "
                    "as due:, is removed). A start of a name works (pri:H); a word that looks like a mistyped one is "
                    "refused. Every other word is the title."),
             ".PP",
             _text("A filter, as list, next, export and a command's leading words take one, is written as Taskwarrior "
                    "writes one: attribute terms (project:home, due.before:eow, status:done), +TAG and -TAG, ids "
                    "(3,4 or 3-6), words of the title, joined by and (the default), or, xor, not and parentheses; "
                    "sort:FIELD+/-,... and limit:N order and cut the list. The virtual tags:"),
             ".RS 4"]
    for tag, meaning in VIRTUAL_TAGS.items():
        lines += _item(_bold(f"+{tag}"), meaning)
    lines += [".RE", ".PP", _text("The guide (docs/guide.md, Finding tasks) and docs/taskwarrior.md give every "
                                   "attribute, modifier and date form.")]
    return lines


def _files() -> list[str]:
    snapshot, journal, lock = STORE_FILE_NAMES
    return [
        ".SH FILES",
        *_item(_italic("$XDG_DATA_HOME/taskvault/"),
               f"the data directory (default ~/.local/share/taskvault/), unless --data-dir or {DATA_DIR.name} "
               "names another. taskvault creates it with mode 0700 and each file in it with 0600, and refuses "
               "one that its group or other users can write to."),
        *_item(_italic(snapshot), "the snapshot of the store, in the data directory."),
        *_item(_italic(journal), "the changes made since the snapshot, each checksummed and fsynced."),
        *_item(_italic(lock), "the lock that lets several sessions share the store. Never delete it."),
        *_item(_italic(f"{BACKUPS_NAME}/"),
               "verified backups, in the data directory: the backup command's, and those taken automatically "
               "(hourly, and before compaction, migration, restore and import), rotated as "
               "TASKVAULT_BACKUP_KEEP says."),
        *_item(_italic(f"${CONFIG_HOME.name}/taskvault/config.toml"),
               f"the config file (default ~/.config/taskvault/config.toml), unless {CONFIG.name} names another: "
               "settings, reports and contexts."),
        *_item(_italic("$XDG_STATE_HOME/taskvault/"),
               "(default ~/.local/state/taskvault/) history, the interactive session's command history, and "
               "crash.log, the traceback of a bug."),
    ]


#: The commands whose first example makes the EXAMPLES section, in the order a newcomer would use them.
_EXAMPLES = ("add", "list", "next", "modify", "done", "undo", "history", "export", "backup")


def page() -> str:
    """The whole page, in roff (man(7) macros)."""
    lines = [
        f'.\\" Generated by `{REGENERATE}`; do not edit.',
        f'.TH TASKVAULT 1 {RELEASED} "taskvault {__version__}" "User Commands"',
        # No hyphenation, here and after each .EE (HY): a word broken as due:to-day would be typed with its
        # hyphen. Ragged right: lines of options and values read better unstretched.
        ".nr HY 0",
        ".nh",
        ".ad l",
        ".SH NAME",
        _fill("taskvault \\- " + escape("a terminal task manager whose every change is durable before it is acknowledged")),
        ".SH SYNOPSIS",
        f"{_bold('taskvault')} [{_italic('OPTIONS')}] [{_italic('COMMAND')} [{_italic('ARGS')}\\&...]]",
        *_description(),
        ".SH COMMANDS",
        _text(", ".join(c.name for c in COMMANDS) + "."),
    ]
    for command in COMMANDS:
        lines += _command(command)
    lines += [".SH OPTIONS", "Given before the command word."]
    for option in GLOBAL_OPTIONS:
        term = ", ".join([*(_bold(a) for a in option.aliases), _option_usage(option.name, option.metavar)])
        lines += _item(term, option.help)
    lines += _attributes()
    lines += [".SH ENVIRONMENT"]
    for variable in ENVIRONMENT:
        lines += _item(_bold(variable.name), variable.help)
    lines += _files()
    lines += [".SH EXIT STATUS"]
    for code, text in EXIT_CODES:
        lines += _item(_bold(str(code)), text)
    lines += [".PP", _text("No traceback ever reaches the screen.")]
    lines += [".SH EXAMPLES", _text("A first session:"), ".EX"]
    found = [command for command in map(COMMANDS.find, _EXAMPLES) if command is not None and command.examples]
    lines += [escape(f"taskvault {command.examples[0]}") for command in found]
    lines += [escape("taskvault --json list"), escape("printf 'add A\\nadd B\\n' | taskvault")]
    lines += [".EE", ".SH SEE ALSO", "\\fBtask\\fR(1), \\fBtodo\\-txt\\fR(1) (todo.txt\\(aqs todo.sh),",
              _text("and the documentation beside the source: README.md, docs/guide.md, docs/commands.md, "
                     "docs/taskwarrior.md, docs/moving.md, docs/guarantees.md, docs/troubleshooting.md."),
              ".PP", _text("taskvault help and taskvault help COMMAND print the same help on the terminal.")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(page(), end="")
