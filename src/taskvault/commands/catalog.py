"""The registry: every command taskvault has, with its arguments, options and help."""

from __future__ import annotations

from ..domain.vocabulary import DATE_FORMS, HISTORY_LIMIT, SORT_NAMES
from .registry import Argument, Command, Option, Registry
from .values import PRIORITY_WORDS

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from collections.abc import Callable

    from .context import Context
    from .registry import ParsedArgs
    from .results import Result


class _Handler:
    """The function ``name`` of handlers.py, imported when a command first runs: `help` lists the
    commands without importing what they run (the service, the task model)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, ctx: Context, args: ParsedArgs) -> Result:
        from . import handlers

        run: Callable[[Context, ParsedArgs], Result] = getattr(handlers, self.name)
        return run(ctx, args)

    def __repr__(self) -> str:
        return f"handlers.{self.name}"


#: The formats import and export know (interchange/formats.py FORMATS, which a test holds this to).
FORMAT_CHOICES = ("taskwarrior", "todotxt", "csv", "ical")


#: The shells `completion` writes a script for (shell_scripts.py SCRIPTS, which a test holds this to).
SHELL_CHOICES = ("bash", "zsh", "fish")


def _run_completion(ctx: Context, args: ParsedArgs) -> Result:
    """``completion SHELL``: the script, from shell_scripts.py (imported by this command alone)."""
    from ..errors import UsageError, shown
    from .results import HelpText
    from .shell_scripts import script_for

    shell = args.positionals[0]
    if shell not in SHELL_CHOICES:
        raise UsageError(f"completion: no script for the shell {shown(shell)}; taskvault completes "
                         + ", ".join(SHELL_CHOICES[:-1]) + f" and {SHELL_CHOICES[-1]}")
    return HelpText(script_for(shell))


def _run_help(ctx: Context, args: ParsedArgs) -> Result:
    """``help``: its module (the help texts) is imported when it runs, not by every command that looks itself up."""
    from .help import run_help

    return run_help(ctx, args)


_PRIORITY = Option("--priority", "low, medium, high or none", metavar="LEVEL", choices=PRIORITY_WORDS)
_IDS = Argument("ID", "task ids: 3, 3,4 or 3-6", many=True, kind="id")
_ID = Argument("ID", "a task id", kind="id")
_DRY_RUN = Option("--dry-run", "show what would change, and change nothing")

COMMANDS = Registry([
    Command(
        "add", "add a task", _Handler("run_add"), mutates=True,
        description="The task gets the next id, which is never used again. The words before, between and\n"
                    "after the options are the title, joined with spaces, except attribute words, as in\n"
                    "Taskwarrior: project:NAME (dotted: home.kitchen), due:DATE, scheduled:DATE, wait:DATE\n"
                    "(hidden from lists until then), until:DATE, priority:H|M|L, depends:ID[,ID], +TAG, and\n"
                    "recur:PERIOD with due: (a series: daily, weekly, monthly, 3d, 2w; see the guide).\n"
                    "A start of a name works (pri:H); a word that looks like a mistyped one (priorty:H,\n"
                    "Due:fri) is refused. A quoted value may have spaces (due:\"next fri\"). Words after --\n"
                    "are always title.\n"
                    "A word starting with -- that add does not know is refused: quote the whole title,\n"
                    "or put -- before the title's words.",
        arguments=(Argument("TITLE", "the title and attribute words (project:home due:fri +tag)", many=True),),
        options=(
            _PRIORITY,
            Option("--due", f"due date: {DATE_FORMS}", metavar="DATE"),
            Option("--tag", "a tag, TAG or +TAG (repeat for several)", metavar="TAG", repeat=True),
            Option("--note", "a longer note", metavar="TEXT"),
        ),
        examples=('add "Buy milk" --priority high --due 2026-12-01 --tag home --note "oat, 2 l"',
                  "add Fix the sink project:home.kitchen +plumbing due:fri priority:H"),
    ),
    Command(
        "list", "list tasks (open ones unless told otherwise)", _Handler("run_list"),
        description="Filters combine: every one given must match. The last line counts the tasks shown\n"
                    "and the open and done tasks in the store. Overdue dates are shown in red on a terminal.\n"
                    "An open task whose wait date is after today is hidden until that day, and one whose until\n"
                    "date has passed is hidden as expired (--waiting shows both; so does a filter naming them).\n"
                    "FILTER is a filter as Taskwarrior writes one: project:home, +tag, -tag, due.before:eow,\n"
                    "+OVERDUE, status:done, 'not', 'or', parentheses, ids (3,4 or 3-6), words of the title;\n"
                    "and sort:FIELD+/-,... and limit:N. See the guide's 'Filters'.",
        arguments=(Argument("FILTER", "a filter: terms joined by and (the default), or, not, parentheses",
                            many=True, optional=True, kind="filter"),),
        options=(
            Option("--all", "open and done tasks"),
            Option("--waiting", "open tasks waiting (wait:DATE after today) or expired (until:DATE before it) too"),
            Option("--done", "only done tasks"),
            Option("--tag", "only tasks with this tag (repeat: all of them)", metavar="TAG", repeat=True),
            Option("--priority", "only tasks of this priority (none: only tasks without one)", metavar="LEVEL",
                   choices=PRIORITY_WORDS),
            Option("--due-before", "only tasks due before this date", metavar="DATE"),
            Option("--search", "only tasks whose title or note contains TEXT (any case)", metavar="TEXT"),
            Option("--sort", "order by " + ", ".join(SORT_NAMES) + " (default id)", metavar="KEY",
                   choices=SORT_NAMES),
        ),
        examples=("list", "list --all --tag home --sort due", "list --search milk",
                  "list '(+home or +errand) and not +someday' due.before:eow sort:due+,priority-"),
    ),
    Command(
        "next", "the open tasks to do next: most urgent first, as many as fit the terminal", _Handler("run_next"),
        description="Urgency adds up, as in Taskwarrior: a near or past due date, priority, an active task,\n"
                    "a task others wait for, age, tags, a project, annotations, and the tag 'next'; a task\n"
                    "blocked by another, or waiting, counts less. Waiting tasks are left out. A filter\n"
                    "narrows it; sort: and limit: change the order and the number (limit:page is what fits).\n"
                    "The guide's 'Urgency' gives each coefficient.",
        arguments=(Argument("FILTER", "a filter, as list takes one", many=True, optional=True, kind="filter"),),
        examples=("next", "next project:home limit:5"),
    ),
    Command(
        "report", "run a report the config file defines: its filter, order, limit and columns",
        _Handler("run_report"),
        description="Reports are defined in the config file as [reports.NAME] with filter, sort, limit and\n"
                    "columns (see the guide). Words after the name add to its filter, and sort: and\n"
                    "limit: replace its own. 'taskvault NAME' runs it too, when NAME is no command.",
        arguments=(Argument("NAME", "the report's name"),
                   Argument("FILTER", "more filter terms", many=True, optional=True, kind="filter")),
        examples=("report mine", "report mine limit:3"),
    ),
    Command(
        "show", "show one task in full", _Handler("run_show"), arguments=(_ID,), examples=("show 1",),
    ),
    Command(
        "edit", "change a task's title, note, priority, due date or tags", _Handler("run_edit"), mutates=True,
        description="Only the fields given change; `updated` is set to now. Editing a task to the values\n"
                    "it already has saves nothing and says so.",
        arguments=(_ID,),
        options=(
            Option("--title", "a new title: the words up to the next option, quoted or not", metavar="TEXT",
                   gathers=True),
            Option("--note", "a new note", metavar="TEXT"),
            Option("--no-note", "remove the note"),
            _PRIORITY,
            Option("--no-priority", "remove the priority"),
            Option("--due", f"a new due date: {DATE_FORMS}", metavar="DATE"),
            Option("--no-due", "remove the due date"),
            Option("--tag", "+TAG or TAG adds a tag, -TAG removes one (repeat for several)",
                   metavar="[+|-]TAG", repeat=True),
        ),
        examples=('edit 1 --title "Buy oat milk" --priority low --no-due --tag +errand --tag -home',),
    ),
    Command(
        "done", "mark tasks done (all or none of them)", _Handler("run_done"), mutates=True,
        description="If any id does not exist, nothing changes. A task that is already done is left as it\n"
                    "was and reported as such.",
        arguments=(_IDS,), options=(Option("--yes", "do not ask for confirmation (asked on a terminal when a "
                                           "filter chose several tasks)"),),
        examples=("done 1", "done 1 3 4"),
    ),
    Command(
        "reopen", "mark done tasks open again", _Handler("run_reopen"), mutates=True,
        arguments=(_IDS,), options=(Option("--yes", "do not ask for confirmation (asked on a terminal when a "
                                           "filter chose several tasks)"),),
        examples=("reopen 1",),
    ),
    Command(
        "delete", "delete tasks for good; their ids are never used again", _Handler("run_delete"), mutates=True,
        description="If any id does not exist, nothing is deleted.",
        arguments=(_IDS,),
        options=(Option("--yes", "do not ask for confirmation (on a terminal, taskvault asks before "
                        "deleting several tasks)"),),
        examples=("delete 2", "delete 2 5-7 --yes"),
    ),
    Command(
        "modify", "change tasks' title, attributes and tags with attribute words", _Handler("run_modify"),
        mutates=True,
        description="The ids come first, in one word (3, 3,4 or 3-6); then words as add takes them: project:NAME, due:DATE,\n"
                    "scheduled:DATE, wait:DATE, until:DATE, priority:H|M|L, depends:ID[,ID] (depends:-ID\n"
                    "removes one), +TAG and -TAG. An attribute with nothing after the colon (due:) is\n"
                    "removed. Other words are the new title. All the tasks change in one step, or none;\n"
                    "on a terminal, taskvault asks first when there are several. A dependency that would\n"
                    "make a task wait for itself is refused.",
        arguments=(Argument("ID", "task ids in one word (3,4 or 3-6), then the changes", many=True, kind="id"),),
        options=(Option("--yes", "do not ask for confirmation"),),
        examples=("modify 3 project:home.kitchen due:fri +plumbing", "modify 3-5 priority:L +someday",
                  "modify 1 -home due: depends:3"),
    ),
    Command(
        "annotate", "add a line of text, stamped with the time, to tasks", _Handler("run_annotate"), mutates=True,
        description="A task keeps up to 100 annotations, oldest first; 'show' lists them and 'denotate'\n"
                    "removes one.",
        arguments=(Argument("ID", "task ids in one word (3,4 or 3-6), then the text", many=True, kind="id"),),
        options=(Option("--yes", "do not ask for confirmation"),),
        examples=("annotate 3 called the plumber, coming Tuesday",),
    ),
    Command(
        "denotate", "remove an annotation of a task: by its number, or by words of its text",
        _Handler("run_denotate"), mutates=True,
        arguments=(_ID, Argument("TEXT", "its number (1 is the oldest) or words of it", many=True)),
        examples=("denotate 3 1", "denotate 3 plumber"),
    ),
    Command(
        "start", "mark tasks active: being worked on now", _Handler("run_start"), mutates=True,
        arguments=(_IDS,), options=(Option("--yes", "do not ask for confirmation"),), examples=("start 3",),
    ),
    Command(
        "stop", "mark active tasks no longer active", _Handler("run_stop"), mutates=True,
        arguments=(_IDS,), options=(Option("--yes", "do not ask for confirmation"),), examples=("stop 3",),
    ),
    Command(
        "projects", "list the projects of the open tasks, with how many each holds", _Handler("run_projects"),
        description="A project's count includes its sub-projects: home counts home.kitchen's tasks too.",
        examples=("projects",),
    ),
    Command(
        "tags", "list the tags of the open tasks, with how many have each", _Handler("run_tags"),
        examples=("tags",),
    ),
    Command(
        "config", "show every setting, its value, and where it came from", _Handler("run_config"), loads_store=False,
        description="A setting comes from the first of: a flag, the environment, the config file\n"
                    "($XDG_CONFIG_HOME/taskvault/config.toml, or TASKVAULT_CONFIG), the default. A config\n"
                    "file taskvault cannot use is refused before any command runs, naming its line and key.",
        examples=("config",),
    ),
    Command(
        "context", "show the active context, or make one active: a filter every list and next adds",
        _Handler("run_context"), loads_store=False,
        description="Contexts are defined in the config file, under [contexts], as NAME = \"FILTER\".\n"
                    "'context NAME' makes one active (written to the config file); 'context none' turns\n"
                    "contexts off. The active context's filter is added to list and next (and any\n"
                    "report), and to a filter typed before a command that changes tasks; ids given to\n"
                    "a command are never narrowed by it.",
        arguments=(Argument("NAME", "a context's name, or none", optional=True),),
        examples=("context", "context home", "context none"),
    ),
    Command(
        "undo", "revert the last N changes (default 1); a bulk command is one step", _Handler("run_undo"),
        mutates=True,
        description="Undo is a change like any other: durable, kept across restarts, and undone by redo.\n"
                    "A task that another change touched since is left as it is, and named. On a\n"
                    "terminal, taskvault shows what will happen and asks when more than one task changes.",
        arguments=(Argument("N", "how many steps to undo", optional=True),),
        options=(_DRY_RUN, Option("--yes", "do not ask for confirmation")),
        examples=("undo", "undo 3 --dry-run"),
    ),
    Command(
        "redo", "re-apply the last N undone changes (default 1)", _Handler("run_redo"), mutates=True,
        description="Redo works until a new change is made after the undo; then there is nothing to redo.",
        arguments=(Argument("N", "how many steps to redo", optional=True),),
        options=(_DRY_RUN, Option("--yes", "do not ask for confirmation")),
        examples=("redo",),
    ),
    Command(
        "history", "list recent changes: time, command and what changed", _Handler("run_history"),
        description=f"The store keeps its last {HISTORY_LIMIT} changes, written in the same atomic step as\n"
                    "each change. Changes that are currently undone are marked; redo brings them back.",
        options=(
            Option("--limit", "show the last N changes (default 20)", metavar="N"),
            Option("--task", "only changes to this task", metavar="ID"),
        ),
        examples=("history", "history --limit 5 --task 1"),
    ),
    Command(
        "import", "bring in tasks from Taskwarrior, todo.txt, CSV or iCalendar, as one change",
        _Handler("run_import"), mutates=True,
        description="FILE is read and checked whole first (- reads standard input). A task is matched to the\n"
                    "store's by its uuid: a new one gets the next id (in the file's order; ids are never\n"
                    "taken from the file), one the store holds is updated or, when the file says what the\n"
                    "store holds, left alone, so importing the same file again changes nothing. Nothing is\n"
                    "deleted. The import is one change: the store is backed up first, 'undo' reverses it.\n"
                    "A record that cannot be read stops it with one line naming the file, the record and\n"
                    "the field, and nothing is imported. --dry-run shows what would be added, updated,\n"
                    "skipped, and what does not map as it was. On a terminal, taskvault asks first.\n"
                    "docs/moving.md says what maps to what, for each format.",
        arguments=(Argument("FILE", "the file to import, or - for standard input", kind="file"),),
        options=(Option("--from", "the format: " + ", ".join(FORMAT_CHOICES), metavar="FORMAT",
                        choices=FORMAT_CHOICES),
                 Option("--done-file", "todo.txt's done.txt, read with it (--from todotxt)", metavar="FILE"),
                 _DRY_RUN, Option("--yes", "do not ask for confirmation")),
        examples=("import --from taskwarrior - --dry-run",),
    ),
    Command(
        "export", "write tasks out for Taskwarrior, todo.txt, a spreadsheet (CSV) or a calendar (iCalendar)",
        _Handler("run_export"),
        description="Every task, done ones and recurring templates too, or those FILTER picks (as list\n"
                    "reads it, before or after the command; the context does not apply). To standard output\n"
                    "as it goes, or with --output to a file, written whole or not at all (a new file\n"
                    "readable by you alone). docs/moving.md says what each format keeps.",
        arguments=(Argument("FILTER", "which tasks: project:work, +home, status:pending, 3-7", many=True,
                            optional=True, kind="filter"),),
        options=(Option("--to", "the format: " + ", ".join(FORMAT_CHOICES), metavar="FORMAT",
                        choices=FORMAT_CHOICES),
                 Option("--output", "write this file instead of standard output (also -o FILE)", metavar="FILE", short="-o")),
        examples=("export --to csv", "export --to ical +home"),
    ),
    Command(
        "sync", "sync with your other devices through a git remote: what came in, what went out",
        _Handler("run_sync"), mutates=True,
        description="Fetches the remote, takes in the other devices' changes as one change, sends this\n"
                    "device's, and pushes (never forced). Name the remote the first time (remembered):\n"
                    "an ssh or https address of a git repository, or the path of a bare one. git never\n"
                    "prompts: use an ssh agent or a credential helper. A task two devices changed without\n"
                    "knowing of each other is kept in both versions (a conflict) until 'resolve' chooses;\n"
                    "with sync.merge = \"fields\" in the config file, edits of different fields are merged,\n"
                    "and said so. A sync that fails changes nothing here and says why (exit 5).\n"
                    "--status says where sync stands without the network. docs/sync.md says how to set up\n"
                    "a remote, and what sync promises.",
        options=(Option("--remote", "the remote to sync with (remembered): ssh://HOST/PATH, https://…, or a path",
                        metavar="URL"),
                 Option("--status", "the remote, this device, changes not yet synced, conflicts, the last sync")),
        examples=("sync --status",),
    ),
    Command(
        "resolve", "choose what a task in conflict becomes: mine, theirs, or field by field",
        _Handler("run_resolve"), mutates=True,
        description="A task two devices changed without knowing of each other's change holds both\n"
                    "versions ('show ID' lists where they differ); it changes only through resolve.\n"
                    "--take mine keeps this device's version, --take theirs the other's (or name it by\n"
                    "its device id, as show prints it, when there are several); --field NAME=VERSION\n"
                    "takes one field (title, status, priority, due, project, tags, note, …) from another\n"
                    "version. The choice is a change like any other, sent to the other devices by the\n"
                    "next sync. Without an id, resolve lists the tasks in conflict.",
        arguments=(Argument("ID", "the task in conflict (an id, or the start of its uuid)", optional=True, kind="id"),),
        options=(Option("--take", "the version to keep: mine, theirs, or a device id", metavar="VERSION",
                        choices=("mine", "theirs")),
                 Option("--field", "take this field from another version, such as title=theirs", metavar="NAME=VERSION",
                        repeat=True)),
        examples=("resolve",),
    ),
    Command(
        "backup", "take a verified backup of the store now", _Handler("run_backup"),
        description="A named backup is kept until you remove it; backups taken automatically (hourly,\n"
                    "before compaction, migration, restore and import) are rotated: see TASKVAULT_BACKUP_KEEP.",
        arguments=(Argument("NAME", "a name for it (letters, digits, '.', '_', '-'), not used before, not "
                                    "'latest' nor a backup id", optional=True),),
        examples=("backup", "backup before-cleanup"),
    ),
    Command(
        "init", "make a new store now, encrypted with --encrypt", _Handler("run_init"), mutates=True,
        loads_store=False,
        description="A store is made by its first change anyway; init makes it now. With --encrypt its\n"
                    "tasks, journal, backups and undo history are encrypted from the start: a passphrase is\n"
                    "asked for (twice), and with --keyring the key is also kept in the system keyring, so\n"
                    "that commands need no passphrase. Lose the passphrase and the tasks are gone: no one\n"
                    "can recover them. docs/encryption.md says what is protected and what is not.",
        options=(Option("--encrypt", "encrypt the new store"),
                 Option("--keyring", "also keep the key in the system keyring (with --encrypt)")),
        examples=("init", "init --encrypt"),
    ),
    Command(
        "encrypt", "encrypt the store: its tasks, journal, backups and undo history", _Handler("run_encrypt"),
        mutates=True, loads_store=False,
        description="One change, with a backup first: a crash leaves the store as it was or encrypted,\n"
                    "never neither. Every existing backup is encrypted too. A passphrase is asked for\n"
                    "(twice); --keyring also keeps the key in the system keyring. Lose the passphrase and\n"
                    "the tasks are gone: no one can recover them. On a terminal, taskvault asks first.\n"
                    "Run again after an interruption, it finishes encrypting the backups.",
        options=(Option("--keyring", "also keep the key in the system keyring"),
                 Option("--yes", "do not ask for confirmation")),
        examples=("encrypt --yes",),
    ),
    Command(
        "rekey", "change the passphrase of an encrypted store (the tasks are not encrypted again)",
        _Handler("run_rekey"), mutates=True, loads_store=False,
        description="Asks for the current passphrase, then the new one (twice). The key that encrypts the\n"
                    "tasks stays; only its wrapping changes, in the store and in every backup, so the old\n"
                    "passphrase opens none of them afterwards. --keyring keeps the key in the system\n"
                    "keyring too (a new secret), --no-keyring takes it out; without either, as it was.",
        options=(Option("--keyring", "keep the key in the system keyring too"),
                 Option("--no-keyring", "take the key out of the system keyring")),
        examples=("rekey",),
    ),
    Command(
        "decrypt", "store the tasks in plain again, after confirming", _Handler("run_decrypt"), mutates=True,
        loads_store=False,
        description="Asks for the current passphrase, and on a terminal whether to go on. One change, with\n"
                    "a backup first; every backup is decrypted too, and the key is taken out of the system\n"
                    "keyring. Afterwards anyone who can read the files can read the tasks.",
        options=(Option("--yes", "do not ask for confirmation"),),
        examples=("decrypt --yes",),
    ),
    Command(
        "backups", "list the backups: id, time, revision, tasks, size", _Handler("run_backups"), loads_store=False,
        examples=("backups",),
    ),
    Command(
        "restore", "put a backup in place of the store, after showing what changes", _Handler("run_restore"),
        mutates=True, loads_store=False,
        description="The backup is checked in full first. If the store loads, the restore is one change:\n"
                    "the current store is backed up first, and 'undo' reverses it. If it does not load,\n"
                    "its files are kept aside as tasks.json.unreadable-TIME (never deleted) and the backup\n"
                    "is put in their place. On a terminal, taskvault asks first. Each says how many later\n"
                    "changes the backup drops; for a store that does not load, 'taskvault salvage' may keep\n"
                    "them. ID is a backup id, a unique start of one, a backup's name, or latest.",
        arguments=(Argument("ID", "the backup (see 'taskvault backups')"),),
        options=(_DRY_RUN, Option("--yes", "do not ask for confirmation")),
        examples=("restore latest --dry-run",),
    ),
    Command(
        "salvage", "rebuild a store that does not load from everything in it that is intact", _Handler("run_salvage"),
        mutates=True, loads_store=False,
        description="For a store that is refused as damaged. It starts from the snapshot, the newest good\n"
                    "backup (or an older one the journal continues) or the journal from its start, whichever\n"
                    "gets furthest, and replays every journal record that verifies and follows on, up to\n"
                    "the first that does not. It shows where it starts, what it replays, what is lost and\n"
                    "why, and how the result differs from the newest backup, then asks (on a\n"
                    "terminal). The damaged files are kept aside as tasks.json.unreadable-TIME (never\n"
                    "deleted), and the salvage is one change: 'undo' goes back to the newest good backup\n"
                    "(or to an empty store when there is none).\n"
                    "On a store that loads there is nothing to salvage, and nothing is changed.",
        options=(_DRY_RUN, Option("--yes", "do not ask for confirmation")),
        examples=("salvage --dry-run",),
    ),
    Command(
        "doctor", "check the store, journal, backups, permissions, disk space, lock and temp files",
        _Handler("run_doctor"), loads_store=False,
        description="Each finding is printed with what to do about it. Nothing is changed. The exit code\n"
                    "is 3 when something is wrong, 0 otherwise (warnings included).",
        examples=("doctor",),
    ),
    Command(
        "stats", "counts, file sizes, history, backups, and the last load and save times", _Handler("run_stats"),
        examples=("stats",),
    ),
    Command(
        "completion", "print the script that makes bash, zsh or fish complete taskvault's words",
        _run_completion, loads_store=False,
        description="The script asks the installed taskvault for the candidates at each Tab: commands,\n"
                    "options and their values, task ids with their titles, +tags, project:NAME, attribute\n"
                    "and filter words, and file names where a file is expected. The store is only read,\n"
                    "never changed, and one that is missing, busy or damaged offers no tasks. To install:\n"
                    "  bash: taskvault completion bash > ~/.local/share/bash-completion/completions/taskvault\n"
                    "        (or add 'source <(taskvault completion bash)' to ~/.bashrc)\n"
                    "  zsh:  taskvault completion zsh > ~/.zfunc/_taskvault, with fpath=(~/.zfunc $fpath)\n"
                    "        before compinit in ~/.zshrc (or 'source <(taskvault completion zsh)' after it)\n"
                    "  fish: taskvault completion fish > ~/.config/fish/completions/taskvault.fish\n"
                    "Then start a new shell.",
        arguments=(Argument("SHELL", "bash, zsh or fish", choices=SHELL_CHOICES),),
        examples=("completion bash", "completion fish"),
    ),
    Command(
        "help", "show the commands, or one command in full", _run_help,
        arguments=(Argument("COMMAND", "a command name", optional=True, kind="command"),),
        examples=("help", "help edit"),
    ),
])
