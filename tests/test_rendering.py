"""Every kind of result has exactly one text and one JSON rendering, each registered in its format's module."""

from __future__ import annotations

import datetime as dt
import typing

import pytest

from taskvault.cli import render_json, render_text
from taskvault.commands.results import Result

RESULTS = typing.get_args(Result)


class TestOneFunctionPerResultPerFormat:
    @pytest.mark.parametrize("kind", RESULTS, ids=lambda t: t.__name__)
    def test_each_result_has_a_text_rendering(self, kind: type) -> None:
        """A result type with no text function registered would fall through to the TypeError default. (The
        store's results are registered when the first of them is rendered: import their module, as that does,
        so that the answer does not depend on which tests ran before.)"""
        from taskvault.cli import render_sync, render_text_store, render_transfer  # noqa: F401

        assert render_text.text.dispatch(kind) is not render_text.text.dispatch(object)

    @pytest.mark.parametrize("kind", RESULTS, ids=lambda t: t.__name__)
    def test_each_result_has_a_json_rendering(self, kind: type) -> None:
        """Likewise for --json."""
        assert render_json.json_value.dispatch(kind) is not render_json.json_value.dispatch(object)

    def test_anything_else_is_refused_by_name(self) -> None:
        """A value that is no result is a bug, reported as one, in either format."""
        renderer = render_text.TextRenderer(render_text.Style(False), today=dt.date(2026, 1, 1))
        with pytest.raises(TypeError, match="no text rendering"):
            renderer.render(object())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="no JSON rendering"):
            render_json.render_json(object())  # type: ignore[arg-type]
