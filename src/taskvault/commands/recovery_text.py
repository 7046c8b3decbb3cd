"""The words for what a restore drops and what a salvage recovers: now in change_text, the one home
of the sentences that describe a change (these names stay importable from here)."""

from __future__ import annotations

from .change_text import (
    LISTED,
    base_name,
    dropped_sentence,
    lost_line,
    plan_effects,
    revisions,
    salvage_account,
    salvage_headline,
    salvage_keeping,
    salvage_source,
    sentence,
    tasks,
)

__all__ = ["LISTED", "base_name", "dropped_sentence", "lost_line", "plan_effects", "revisions", "salvage_account",
           "salvage_headline", "salvage_keeping", "salvage_source", "sentence", "tasks"]
