"""taskvault's own options and the environment variables it reads: one table each.

The command line's parser (cli/config.py) reads an option's or a variable's name from here, and help
(help.py) and docs/commands.md (reference.py) list them from here, so that none of them can name a
setting the others do not know.
"""

from __future__ import annotations


class GlobalOption:
    """One of taskvault's own options, given before the command word.

    A plain class, as are the registry's: `taskvault --help` lists these without paying for attrs.
    """

    __slots__ = ("aliases", "choices", "field", "help", "metavar", "name")

    def __init__(self, name: str, field: str, help: str, metavar: str | None = None,
                 aliases: tuple[str, ...] = (), choices: tuple[str, ...] = ()) -> None:
        self.name = name
        #: The GlobalOptions attribute it sets (cli/config.py).
        self.field = field
        self.help = help
        #: The value's name, for an option that takes one (``--data-dir DIR``); None for a flag.
        self.metavar = metavar
        #: Other spellings of the same flag.
        self.aliases = aliases
        #: The values it takes, offered by completion (checked by cli/config.py).
        self.choices = choices

    def __repr__(self) -> str:
        return f"GlobalOption({self.name!r})"

    @property
    def usage(self) -> str:
        return f"{self.name} {self.metavar}" if self.metavar else self.name


class Variable:
    """An environment variable taskvault reads."""

    __slots__ = ("help", "name")

    def __init__(self, name: str, help: str) -> None:
        self.name = name
        self.help = help

    def __repr__(self) -> str:
        return f"Variable({self.name!r})"


#: Seconds a change waits for another session's, unless TASKVAULT_LOCK_TIMEOUT says otherwise.
DEFAULT_LOCK_TIMEOUT = 10.0

#: What --color and the config file's color accept.
COLOR_WHEN = ("auto", "always", "never")

GLOBAL_OPTIONS = (
    GlobalOption("--data-dir", "data_dir",
                 "the store's directory (else $TASKVAULT_DATA_DIR, else your user data directory)", metavar="DIR"),
    GlobalOption("--json", "json", "print JSON: one object or list per command"),
    GlobalOption("--script", "script", "run the commands in FILE, one per line", metavar="FILE"),
    GlobalOption("--keep-going", "keep_going", "in a script, go on after a failing line"),
    GlobalOption("--color", "color", "colour: auto (on a terminal), always or never; before the config file and "
                 "NO_COLOR, FORCE_COLOR and CLICOLOR_FORCE", metavar="WHEN", choices=COLOR_WHEN),
    GlobalOption("--no-color", "no_color", "plain output even on a terminal: --color=never"),
    GlobalOption("--no-pager", "no_pager", "never page long output on a terminal (config: pager = false)"),
    GlobalOption("--passphrase-fd", "passphrase_fd", "an encrypted store's passphrase: the first line read from "
                 "descriptor N (as in 3<FILE), before TASKVAULT_PASSPHRASE_FILE and the terminal", metavar="N"),
    GlobalOption("--new-passphrase-fd", "new_passphrase_fd", "a new passphrase (rekey), read as --passphrase-fd reads "
                 "its own; init --encrypt and encrypt take theirs from --passphrase-fd", metavar="N"),
    GlobalOption("--version", "version", "print the version and exit"),
    GlobalOption("--help", "help", "show this help and exit", aliases=("-h",)),
)

DATA_DIR = Variable("TASKVAULT_DATA_DIR", "the store's directory, when --data-dir is not given")
LOCK_TIMEOUT = Variable("TASKVAULT_LOCK_TIMEOUT",
                        f"seconds to wait for another session's change, default {DEFAULT_LOCK_TIMEOUT:g}")
BACKUP_KEEP = Variable("TASKVAULT_BACKUP_KEEP",
                       "automatic backups to keep, such as last=10,daily=7,weekly=4 (empty: the default)")
NO_COLOR = Variable("NO_COLOR", "plain output when set and not empty, as with --no-color (the config file's color "
                    "may say otherwise)")
FORCE_COLOR = Variable("FORCE_COLOR", "colour even when the output is not a terminal, when set and not empty "
                       "(0 or false: plain output, as Node's tools read it); after NO_COLOR")
CLICOLOR_FORCE = Variable("CLICOLOR_FORCE", "colour even when the output is not a terminal, when set to anything "
                          "but empty or 0; after NO_COLOR and FORCE_COLOR")
TERM = Variable("TERM", "dumb: plain output, unless FORCE_COLOR or CLICOLOR_FORCE asks for colour")
COLUMNS = Variable("COLUMNS", "the width of tables when the output is not a terminal")
TZ = Variable("TZ", "the local time zone; one taskvault cannot use is refused before anything runs")
TZDIR = Variable("TZDIR", "where TZ's zone files are found (default /usr/share/zoneinfo)")
RESIDENT = Variable("TASKVAULT_RESIDENT",
                    "off: every command loads the store itself; else seconds a resident process keeps it "
                    "loaded for the next one-shot command, default 600 (docs/resident.md)")

RUNTIME_DIR = Variable("XDG_RUNTIME_DIR", "where a resident process keeps its socket (else /tmp/taskvault-UID)")
CONFIG = Variable("TASKVAULT_CONFIG",
                  "the config file, instead of $XDG_CONFIG_HOME/taskvault/config.toml (/dev/null: none)")
CONFIG_HOME = Variable("XDG_CONFIG_HOME", "where taskvault/config.toml is found (else ~/.config)")
PAGER = Variable("PAGER", "the pager for long output on a terminal, unless the config file names one "
                          "(empty or cat: none; unset: less, with LESS=FRX when LESS is unset)")
HOME = Variable("HOME", "your home directory: ~ in paths, and the default data and config directories are under it")

PASSPHRASE_FILE = Variable("TASKVAULT_PASSPHRASE_FILE",
                           "a file whose first line is an encrypted store's passphrase, when no --passphrase-fd is given "
                           "(a regular file only you can read: chmod 600)")
NEW_PASSPHRASE_FILE = Variable("TASKVAULT_NEW_PASSPHRASE_FILE",
                               "a file whose first line is the new passphrase rekey sets, when no --new-passphrase-fd "
                               "is given (chmod 600, as TASKVAULT_PASSPHRASE_FILE)")
KEYRING = Variable("TASKVAULT_KEYRING", "off: never use the OS keyring for an encrypted store's key (the passphrase "
                   "alone); on or empty: use it when the store has a keyring slot")

ENVIRONMENT = (DATA_DIR, CONFIG, LOCK_TIMEOUT, BACKUP_KEEP, RESIDENT, NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE, TERM,
               COLUMNS, TZ, TZDIR, RUNTIME_DIR, CONFIG_HOME, HOME, PAGER, PASSPHRASE_FILE, NEW_PASSPHRASE_FILE, KEYRING)
