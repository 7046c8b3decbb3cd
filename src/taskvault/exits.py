"""The exit statuses no error class carries: each error class carries its own (``exit_code`` in
errors.py). Help, docs/commands.md, README.md and docs/troubleshooting.md list both kinds, and a
test checks that they list exactly these."""

from __future__ import annotations

EXIT_SUCCESS = 0
#: The change was saved, but what came after it failed (its output, a bug): it must not be run again.
EXIT_SAVED_UNREPORTED = 4
#: A bug: one line on screen, the traceback in the crash log (sysexits' EX_SOFTWARE).
EXIT_INTERNAL = 70
#: Standard output could not be written, and nothing was saved (sysexits' EX_IOERR).
EXIT_OUTPUT_FAILED = 74
#: The resident process (docs/resident.md) ended before it said how the command it had accepted ended:
#: a change it was making was saved whole or not at all, and `history` says which (sysexits' EX_TEMPFAIL).
EXIT_OUTCOME_UNKNOWN = 75
#: Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: The program reading standard output went away early, as with ``| head`` (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141
