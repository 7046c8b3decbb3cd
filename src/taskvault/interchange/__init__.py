"""Other tools' formats: Taskwarrior's JSON, todo.txt, CSV and iCalendar, read into tasks and written from them.

A layer of its own between the commands and the domain: pure translation of bytes to tasks and tasks to
text, with no files, no store and no terminal (the commands read the input and write the output). Each
format is a module with ``read(sources, now=...) -> Batch`` and ``write(tasks) -> Iterator[str]``;
formats.py names them and imports one only when it is used.
"""
