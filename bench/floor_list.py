"""The floor of a one-shot list in Python: parse a JSON array of the tasks, print the open ones.

    python -I bench/floor_list.py TASKS.json [tag TAG | search WORD]

TASKS.json is `taskvault --json list --all` of the store, so the floor reads the same tasks, or the
store's snapshot (tasks.json) itself, an object whose "tasks" are that list (bench/list_cost.py).
"""

import json
import sys

with open(sys.argv[1], "rb") as source:
    tasks = json.load(source)
if isinstance(tasks, dict):
    tasks = tasks["tasks"]
mode, wanted = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("", "")
rows = []
for t in tasks:
    if t["status"] != "open":
        continue
    if mode == "tag" and wanted not in t["tags"]:
        continue
    if mode == "search" and wanted.casefold() not in t["title"].casefold():
        continue
    rows.append(f"{t['id']:>6}  {t['priority'] or '':<6}  {t['due'] or '':<10}  {t['title']}  {' '.join(t['tags'])}")
rows.append(f"{len(rows)} open tasks shown")
sys.stdout.write("\n".join(rows) + "\n")
