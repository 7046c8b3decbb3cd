"""How much taskvault accepts at once: every limit on input and on what messages quote, in one place.

The limits of the task model itself (a title's length, a note's, the number of tags) are rules of
the data and live with it in ``domain/task.py``. docs/guide.md ("Limits") lists both kinds, and a
test checks that it quotes these values.
"""

from __future__ import annotations

#: The longest line a script (a file or standard input) or the interactive session may hold, in
#: bytes of UTF-8. A line of 10,000 ids fits; a longer line is refused while it is read.
MAX_LINE_BYTES = 128 * 1024
#: The most one run reads from a script, in bytes: 64 MiB, over half a million typical lines. The
#: lines before the limit run; the line that passes it is refused.
MAX_SCRIPT_BYTES = 64 * 1024 * 1024
#: The most task ids one command may name, ranges included (so 1-10000 is the widest range).
MAX_IDS = 10_000
#: How many ids, or runs of ids such as 4-9999, an error message lists before it says how many in all.
MAX_LISTED_IDS = 5
#: How many characters of a value the user gave an error message quotes before it cuts it short.
MAX_QUOTED_CHARS = 40
#: The longest error message shown, in characters; longer ones are cut short with "…".
MAX_MESSAGE_CHARS = 300
#: The largest file (or standard input) ``import`` reads: 128 MiB, some five times a Taskwarrior export of
#: 100,000 typical tasks; a larger input is refused before anything is read.
MAX_IMPORT_BYTES = 128 * 1024 * 1024
#: The most tasks one import adds and updates: an import is one change, and one change is at most 64 MiB in the
#: journal (some 150,000 typical tasks). Refused, dry run or not, before the store is touched.
MAX_IMPORT_TASKS = 100_000
