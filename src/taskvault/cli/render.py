"""Turning command results and errors into text for people or JSON for programs.

The work is done in style.py (colour), render_text.py and render_text_store.py (text, one function
per kind of result), render_json.py (JSON, likewise) and commands/change_text.py (the sentences
that describe a change). These names stay importable from here.
"""

from __future__ import annotations

from ..commands.results import (
    BackupList,
    BackupTaken,
    Declined,
    DoctorReport,
    HelpText,
    HistoryList,
    Restored,
    Result,
    Reverted,
    Salvaged,
    StoreStats,
    TaskDetail,
    TaskSaved,
    TasksChanged,
    TaskTable,
)
from .render_json import error_json, json_value, render_json
from .render_text import TextRenderer, error_text, text
from .style import Style
from .text import one_line

__all__ = ["BackupList", "BackupTaken", "Declined", "DoctorReport", "HelpText", "HistoryList", "Restored", "Result",
           "Reverted", "Salvaged", "StoreStats", "Style", "TaskDetail", "TaskSaved", "TaskTable", "TasksChanged",
           "TextRenderer", "error_json", "error_text", "json_value", "one_line", "render_json", "text"]
