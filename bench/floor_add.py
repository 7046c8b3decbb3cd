"""The floor of a one-shot durable add in Python: start, append a line, fsync, exit.

    python -I bench/floor_add.py FILE
"""

import os
import sys

fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.write(fd, b'{"op": "add", "title": "a task added by the floor"}\n')
os.fsync(fd)
os.close(fd)
print("Added")
