"""A Taskwarrior-style filter: ``project:home +urgent``, ``'(due.before:eow or +OVERDUE) and not +someday'``.

The words of a command line are cut into terms: parentheses and white space split them even inside
one quoted word, but a word that is only a phrase (``'buy milk'``, ``'title.is:buy milk'``) stays one
term, and quotes inside a word group too (``'(title.is:"buy milk" or +x)'``). The terms are parsed
into a tree (``not`` binds tighter than ``and``, then ``xor``, then ``or``; two terms side by side
are joined by ``and``) and compiled once into nested closures, so that matching a task costs a few
calls, not a walk over the tree.

Terms:

- ``+tag``, ``-tag``: has, has not the tag. An all-upper-case name is a virtual tag (VIRTUAL_TAGS).
- ``name:value``, ``name.modifier:value``: an attribute (ATTRIBUTES; any unambiguous prefix of a
  name, such as ``pri:H``) compared as the modifier says (MODIFIERS). An empty value means "has
  none": ``due:``, ``project:``. ``project:home`` matches home and home.kitchen; ``project.is:home``
  only home. Dates are compared as days; a moment (created, updated, completed, started) by the local
  day it falls on.
- ``12``, ``3-7``, ``1,4-6``: those ids; 8 or more hex digits, or a whole uuid: the task whose uuid
  starts so. Ids and uuids side by side select any of them (``1 2`` is task 1 and task 2).
- Any other word, or ``/several words/``: the title, note or an annotation contains it (any case).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ..errors import InvalidValue, shown
from .task import Priority, Status, Task, normalize_tag

#: The most terms (tags, attributes, words) one filter may hold.
MAX_TERMS = 200
#: The deepest parentheses may nest.
MAX_DEPTH = 50
#: The most ids one filter may name (as limits.MAX_IDS, which the domain may not import).
MAX_IDS = 10_000

_OPERATORS = ("and", "or", "xor", "not")
_ID_LIST = re.compile(r"[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*")
#: The start of a uuid: eight hex digits or more, with its dashes where a uuid has them.
_UUID_WORD = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{1,4}(?:-[0-9a-f]{1,4}(?:-[0-9a-f]{1,4}(?:-[0-9a-f]{1,12})?)?)?)?-?"
                        r"|[0-9a-f]{9,32}", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"([A-Za-z_]+)(?:\.([A-Za-z_]+))?:(.*)", re.DOTALL)
_DAY = dt.timedelta(days=1)

Predicate = Callable[[Task, "FilterContext"], bool]


@attrs.frozen
class FilterContext:
    """What a term needs to know of the other tasks: built once per listing with ``build``."""

    #: The uuids of the open tasks.
    open_uuids: frozenset[uuid_module.UUID] = frozenset()
    #: The uuids some open task depends on.
    depended_on: frozenset[uuid_module.UUID] = frozenset()
    #: Each task's uuid by its id, for ``depends:12``.
    uuid_by_id: Mapping[int, uuid_module.UUID] = attrs.field(factory=dict, eq=False)

    @classmethod
    def build(cls, tasks: Iterable[Task]) -> FilterContext:
        open_uuids: set[uuid_module.UUID] = set()
        depended_on: set[uuid_module.UUID] = set()
        uuid_by_id: dict[int, uuid_module.UUID] = {}
        for task in tasks:
            uuid_by_id[task.id] = task.uuid
            if task.status is Status.OPEN:
                open_uuids.add(task.uuid)
                if task.depends:
                    depended_on.update(task.depends)
        return cls(frozenset(open_uuids), frozenset(depended_on), uuid_by_id)

    def is_blocked(self, task: Task) -> bool:
        """An open task that depends on an open task."""
        return bool(task.depends) and task.status is Status.OPEN and not self.open_uuids.isdisjoint(task.depends)

    def is_blocking(self, task: Task) -> bool:
        """An open task that an open task depends on."""
        return task.status is Status.OPEN and task.uuid in self.depended_on


EMPTY_CONTEXT = FilterContext()


# --- the tree ---------------------------------------------------------------------------------------


@attrs.frozen
class _Term:
    text: str
    predicate: Predicate
    status: Status | None = None
    ids: frozenset[int] | None = None
    uuids: tuple[str, ...] = ()
    uses_context: bool = False
    #: Bare ids or uuids (``12``, ``3-7``, ``3f2a9c1b``): side by side with another such word it selects either.
    selects: bool = False


@attrs.frozen
class _Not:
    child: _Node


@attrs.frozen
class _Join:
    kind: str  # "and", "xor", "or"
    children: tuple[_Node, ...]


_Node = _Term | _Not | _Join
_PRECEDENCE = {"or": 1, "xor": 2, "and": 3}


def _walk(node: _Node) -> Iterable[_Term]:
    if isinstance(node, _Term):
        yield node
    elif isinstance(node, _Not):
        yield from _walk(node.child)
    else:
        for child in node.children:
            yield from _walk(child)


def _render(node: _Node, outer: int = 0) -> str:
    if isinstance(node, _Term):
        return node.text
    if isinstance(node, _Not):
        return "not " + _render(node.child, 4)
    own = _PRECEDENCE[node.kind]
    text = f" {node.kind} ".join(_render(child, own) for child in node.children)
    return f"({text})" if own < outer or (own == outer and node.kind == "xor") else text


def _compile(node: _Node) -> Predicate:
    if isinstance(node, _Term):
        return node.predicate
    if isinstance(node, _Not):
        inner = _compile(node.child)
        return lambda t, c: not inner(t, c)
    parts = [_compile(child) for child in node.children]
    if node.kind == "xor":
        first, *rest = parts

        def xor(t: Task, c: FilterContext) -> bool:
            value = first(t, c)
            for part in rest:
                value = value is not part(t, c)
            return value

        return xor
    if len(parts) == 2:
        a, b = parts
        return (lambda t, c: a(t, c) and b(t, c)) if node.kind == "and" else (lambda t, c: a(t, c) or b(t, c))
    if node.kind == "and":
        def every(t: Task, c: FilterContext) -> bool:
            for part in parts:  # noqa: SIM110 (all() of a generator costs a generator per task)
                if not part(t, c):
                    return False
            return True

        return every

    def any_of(t: Task, c: FilterContext) -> bool:
        for part in parts:  # noqa: SIM110 (any() of a generator costs a generator per task)
            if part(t, c):
                return True
        return False

    return any_of


@attrs.frozen(eq=False)
class Filter:
    """A parsed filter. ``matches(task, ctx)`` tells one task; ``select`` a collection."""

    _root: _Node | None
    _predicate: Predicate

    #: True when a term looks at other tasks (BLOCKED, BLOCKING, READY, depends:ID): pass a FilterContext.
    needs_context: bool

    def matches(self, task: Task, ctx: FilterContext = EMPTY_CONTEXT) -> bool:
        return self._predicate(task, ctx)

    def select(self, tasks: Iterable[Task], ctx: FilterContext | None = None) -> list[Task]:
        """The tasks that match, in the order given; the context is built from ``tasks`` when needed and not given."""
        if ctx is None:
            if self.needs_context:
                tasks = list(tasks)
                ctx = FilterContext.build(tasks)
            else:
                ctx = EMPTY_CONTEXT
        predicate = self._predicate
        return [task for task in tasks if predicate(task, ctx)]

    @property
    def ids(self) -> frozenset[int] | None:
        """The ids the filter names, when it names nothing but ids: the caller may fetch those directly."""
        root = self._root
        terms = [root] if isinstance(root, _Term) else list(root.children) if (
            isinstance(root, _Join) and root.kind == "or") else []
        if not terms or not all(isinstance(t, _Term) and t.ids is not None and not t.uuids for t in terms):
            return None
        return frozenset().union(*(t.ids for t in terms if isinstance(t, _Term) and t.ids is not None))

    @property
    def status_hint(self) -> Status | None:
        """The one status every matching task has, when a term joined by ``and`` at the top pins it."""
        root = self._root
        conjuncts = root.children if isinstance(root, _Join) and root.kind == "and" else (root,)
        for term in conjuncts:
            if isinstance(term, _Term) and term.status is not None:
                return term.status
        return None

    def describe(self) -> str:
        """The filter as normalised text, for messages such as "no task matches …"."""
        return "" if self._root is None else _render(self._root)

    def term_texts(self) -> list[str]:
        """Each term as normalised text (``wait.before:2026-12-01``, ``+WAITING``, ``status:waiting``, a word), in
        order: what a caller asks when it must know whether the filter names a field, not a word that contains it."""
        found: list[str] = []
        todo: list[_Node] = [] if self._root is None else [self._root]
        while todo:
            node = todo.pop()
            if isinstance(node, _Term):
                found.append(node.text)
            elif isinstance(node, _Not):
                todo.append(node.child)
            else:
                todo.extend(reversed(node.children))
        return found


# --- words into tokens ------------------------------------------------------------------------------


@attrs.frozen
class _Token:
    text: str
    position: int
    #: A parenthesis or operator: not a term.
    syntax: bool = False


def _split_word(word: str) -> list[tuple[str, bool]]:
    """A word's pieces: parentheses apart, white space between, quotes grouping (and dropped)."""
    if not any(ch.isspace() or ch in "()" for ch in word):
        return [(word, False)] if word else []
    if not word.strip():
        return []
    if not any(ch in "()'\"" for ch in word):
        # A quoted phrase the shell kept whole, 'title.is:buy milk' or 'buy milk', is one term (as in
        # Taskwarrior) unless some piece of it is an operator, a tag, an id or an attribute of its own.
        first, *rest = word.split()
        if (_ATTRIBUTE.fullmatch(first) or _plain(first)) and all(_plain(piece) for piece in rest):
            return [(word.strip(), False)]
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch.isspace() or ch in "()":
            if "".join(current):
                pieces.append(("".join(current), False))
            current = []
            if ch in "()":
                pieces.append((ch, True))
            i += 1
            continue
        # A quote opens a group at the start of a piece or after ':'; '/' groups a text search.
        closer = ch if ch in "'\"" and (not current or current[-1] == ":") else None
        if ch == "/" and not current:
            closer = "/"
        if closer is not None:
            end = word.find(closer, i + 1)
            if end > 0:
                current.append(word[i:end + 1] if closer == "/" else word[i + 1:end])
                i = end + 1
                continue
        current.append(ch)
        i += 1
    if "".join(current):
        pieces.append(("".join(current), False))
    return pieces


def _plain(piece: str) -> bool:
    """A piece of a phrase that is nothing but a word."""
    return not (piece.casefold() in _OPERATORS or piece[0] in "+-/" or _ID_LIST.fullmatch(piece)
                or _UUID_WORD.fullmatch(piece) or _ATTRIBUTE.fullmatch(piece))


def _tokens(words: Iterable[str]) -> list[_Token]:
    tokens: list[_Token] = []
    for word in words:
        for text, paren in _split_word(word):
            syntax = paren or text.casefold() in _OPERATORS
            tokens.append(_Token(text.casefold() if syntax else text, len(tokens) + 1, syntax))
            if len(tokens) > 4 * MAX_TERMS:
                raise InvalidValue(f"the filter is too long: more than {4 * MAX_TERMS} terms, operators and parentheses",
                                   hint=f"a filter holds at most {MAX_TERMS} terms")
    return tokens


# --- the parser ---------------------------------------------------------------------------------------


def _at(token: _Token) -> str:
    return f"{token.text!r} at position {token.position}"


class _Parser:
    def __init__(self, tokens: list[_Token], terms: _TermReader) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.count = 0
        self.terms = terms

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def parse(self) -> _Node | None:
        if not self.tokens:
            return None
        node = self.join("or")
        token = self.peek()
        if token is not None:  # only a ')' stops a join early
            raise InvalidValue(f"the filter has a ')' without its '(': {_at(token)}",
                               hint="give each '(' its ')' and each ')' its '('")
        return node

    def join(self, kind: str) -> _Node:
        below = {"or": "xor", "xor": "and"}.get(kind)
        children = [self.join(below) if below else self.negation()]
        while (token := self.peek()) is not None:
            if token.syntax and token.text == kind:
                self.index += 1
                if self.peek() is None:
                    raise InvalidValue(f"the filter ends with the operator {_at(token)}", hint=_OPERAND_HINT)
                children.append(self.join(below) if below else self.negation())
            elif kind == "and" and not (token.syntax and token.text in ("or", "xor", ")")):
                node = self.negation()  # side by side: an implicit 'and'
                last = children[-1]
                if isinstance(node, _Term) and isinstance(last, _Term) and node.selects and last.selects:
                    children[-1] = _merge_selections(last, node)
                else:
                    children.append(node)
            else:
                break
        return children[0] if len(children) == 1 else _Join(kind, tuple(children))

    def negation(self) -> _Node:
        negated = False
        while (token := self.peek()) is not None and token.syntax and token.text == "not":
            negated = not negated
            self.index += 1
        node = self.primary()
        if not negated:
            return node
        return node.child if isinstance(node, _Not) else _Not(node)

    def primary(self) -> _Node:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            raise InvalidValue(f"the filter ends with the operator {_at(last)}", hint=_OPERAND_HINT)
        self.index += 1
        if token.syntax and token.text == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise InvalidValue(f"the filter nests parentheses more than {MAX_DEPTH} deep ({_at(token)})",
                                   hint="write the filter with fewer parentheses")
            inner = self.peek()
            if inner is None or (inner.syntax and inner.text == ")"):
                raise InvalidValue(f"the filter has an empty or unclosed '(' at position {token.position}",
                                   hint="put terms between '(' and ')'")
            node = self.join("or")
            close = self.peek()
            if close is None:
                raise InvalidValue(f"the filter's '(' at position {token.position} is never closed",
                                   hint="give each '(' its ')'")
            self.index += 1
            self.depth -= 1
            return node
        if token.syntax:
            what = "')' without its '('" if token.text == ")" else "operator with nothing before it"
            raise InvalidValue(f"the filter has an {what}: {_at(token)}", hint=_OPERAND_HINT)
        self.count += 1
        if self.count > MAX_TERMS:
            raise InvalidValue(f"the filter has more than {MAX_TERMS} terms", hint="use fewer terms, or id ranges such as 3-70")
        return self.terms.read(token.text)


_OPERAND_HINT = "each of and, or, xor needs a term on both sides, and not a term after it"


def _merge_selections(a: _Term, b: _Term) -> _Term:
    ids = (a.ids or frozenset()) | (b.ids or frozenset())
    if len(ids) > MAX_IDS:
        raise InvalidValue(f"a filter names at most {MAX_IDS:,} ids")
    return _selection(ids if a.ids is not None or b.ids is not None else None, a.uuids + b.uuids)


def _selection(ids: frozenset[int] | None, uuids: tuple[str, ...]) -> _Term:
    parts = [_describe_ids(ids)] if ids else []
    parts += uuids
    text = " ".join(parts)
    if not uuids:
        id_set = ids or frozenset()
        return _Term(text, lambda t, c: t.id in id_set, ids=ids, selects=True)
    prefixes = uuids
    id_set = ids or frozenset()
    return _Term(text, lambda t, c: t.id in id_set or str(t.uuid).startswith(prefixes), ids=ids, uuids=uuids,
                 selects=True)


def _describe_ids(ids: Iterable[int]) -> str:
    ordered = sorted(ids)
    runs: list[str] = []
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            first, last = ordered[start], ordered[i - 1]
            runs.append(str(first) if first == last else f"{first}-{last}")
            start = i
    return ",".join(runs)


def _parse_ids(text: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if first < 1 or last < first:
            raise InvalidValue(f"{shown(part)} is not a usable id or range of ids", hint="ids start at 1; a range is LOW-HIGH")
        if last - first >= MAX_IDS or len(ids) + last - first >= MAX_IDS:
            raise InvalidValue(f"a filter names at most {MAX_IDS:,} ids", hint="use a narrower range")
        ids.update(range(first, last + 1))
    return frozenset(ids)


# --- terms ----------------------------------------------------------------------------------------------

#: Each attribute name a filter accepts (Taskwarrior's names too) and the task field it means.
ATTRIBUTES: dict[str, str] = {
    "project": "project", "status": "status", "priority": "priority", "due": "due", "scheduled": "scheduled",
    "wait": "wait", "until": "until", "entry": "created", "created": "created", "modified": "updated",
    "updated": "updated", "end": "completed", "completed": "completed", "start": "started", "started": "started",
    "description": "title", "title": "title", "note": "note", "tags": "tags", "id": "id", "uuid": "uuid",
    "depends": "depends", "recur": "recur",
}

#: Each modifier and the one it is another name for.
MODIFIERS: dict[str, str] = {
    "before": "before", "under": "before", "below": "before", "after": "after", "over": "after", "above": "after",
    "by": "by", "is": "is", "equals": "is", "not": "not", "isnt": "isnt", "has": "has", "contains": "has",
    "hasnt": "hasnt", "startswith": "startswith", "left": "startswith", "endswith": "endswith", "right": "endswith",
    "none": "none", "any": "any",
}

_DATE_FIELDS = ("due", "scheduled", "wait", "until")
_MOMENT_FIELDS = ("created", "updated", "completed", "started")
_TEXT_MODIFIERS = ("", "is", "not", "isnt", "has", "hasnt", "startswith", "endswith", "none", "any")
_DATE_MODIFIERS = ("", "is", "not", "isnt", "before", "after", "by", "none", "any")
_ORDER_MODIFIERS = ("", "is", "not", "isnt", "before", "after", "by", "none", "any")
_SET_MODIFIERS = ("", "is", "not", "isnt", "has", "hasnt", "none", "any")
_MODIFIERS_OF: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_DATE_FIELDS + _MOMENT_FIELDS, _DATE_MODIFIERS),
    **dict.fromkeys(("title", "note", "project", "recur"), _TEXT_MODIFIERS),
    "status": ("", "is", "not", "isnt"), "priority": _ORDER_MODIFIERS, "id": ("", "is", "not", "isnt", "before", "after", "by"),
    "uuid": ("", "is", "not", "isnt", "startswith"), "tags": _SET_MODIFIERS, "depends": _SET_MODIFIERS,
}

_PRIORITIES = {"h": Priority.HIGH, "high": Priority.HIGH, "m": Priority.MEDIUM, "medium": Priority.MEDIUM,
               "l": Priority.LOW, "low": Priority.LOW}
_PRIORITY_RANK = {None: 0, Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}


def _nearest(word: str, names: Iterable[str]) -> str:
    import difflib  # only when a message needs it: an import costs every command

    close = difflib.get_close_matches(word, list(names), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _attribute_name(raw: str) -> str:
    name = raw.casefold()
    if name in ATTRIBUTES:
        return ATTRIBUTES[name]
    fields = {field for key, field in ATTRIBUTES.items() if key.startswith(name)}
    if len(name) >= 2 and len(fields) == 1:
        return fields.pop()
    names = ", ".join(sorted(ATTRIBUTES))
    if len(fields) > 1:
        candidates = ", ".join(sorted(k for k in ATTRIBUTES if k.startswith(name)))
        raise InvalidValue(f"the attribute {shown(raw)} is ambiguous: it could be {candidates}",
                           hint="type more of the name")
    raise InvalidValue(f"{shown(raw)} is not an attribute a filter knows",
                       hint=f"{_nearest(name, ATTRIBUTES)}use one of {names}; to find text with ':' in it, write /text/")


def _day_start(day: dt.date) -> dt.datetime:
    """The moment the local day starts, as an aware datetime (comparable with the UTC moments tasks hold)."""
    return dt.datetime.combine(day, dt.time()).astimezone()


class _TermReader:
    """Turns one token into a term, given today and how to read a date."""

    def __init__(self, today: dt.date, resolve_date: Callable[[str], dt.date]) -> None:
        self.today = today
        self.resolve_date = resolve_date
        self.virtual = _virtual_tags(today)

    def read(self, word: str) -> _Term:
        if word[0] in "+-" and len(word) > 1:
            return self.tag(word[0] == "+", word[1:])
        if word in ("+", "-"):
            raise InvalidValue(f"{shown(word)} needs a tag after it", hint="such as +home or -someday")
        if _ID_LIST.fullmatch(word) and not (len(word) > 8 and word[8] == "-"):
            return _selection(_parse_ids(word), ())
        if _UUID_WORD.fullmatch(word):
            return _selection(None, (word.casefold(),))
        if len(word) >= 2 and word[0] == "/" and word[-1] == "/":
            return _text_search(word[1:-1], word)
        attribute = _ATTRIBUTE.fullmatch(word)
        if attribute:
            return self.attribute(*attribute.groups())
        return _text_search(word, word)

    def tag(self, present: bool, name: str) -> _Term:
        sign = "+" if present else "-"
        if name.isupper():
            entry = self.virtual.get(name)
            if entry is None:
                hint = "taskvault deletes tasks for good: nothing is DELETED" if name == "DELETED" else (
                    f"{_nearest(name, self.virtual)}virtual tags are {', '.join(sorted(self.virtual))}; "
                    f"for your own tag write it in lower case: {sign}{name.casefold()}")
                raise InvalidValue(f"{sign}{name} is not a virtual tag", hint=hint)
            test, status, uses_context = entry
            if present:
                return _Term(f"+{name}", test, status=status, uses_context=uses_context)
            return _Term(f"-{name}", lambda t, c: not test(t, c), uses_context=uses_context)
        tag = normalize_tag(name)
        if present:
            return _Term(f"+{tag}", lambda t, c: tag in t.tags)
        return _Term(f"-{tag}", lambda t, c: tag not in t.tags)

    def attribute(self, raw_name: str, raw_modifier: str | None, value: str) -> _Term:
        field = _attribute_name(raw_name)
        modifier = ""
        if raw_modifier is not None:
            modifier = MODIFIERS.get(raw_modifier.casefold(), "?")
            if modifier == "?":
                raise InvalidValue(f"{shown(raw_modifier)} is not a modifier a filter knows",
                                   hint=f"{_nearest(raw_modifier.casefold(), MODIFIERS)}use one of "
                                        f"{', '.join(m for m in _MODIFIERS_OF[field] if m)}")
        if modifier not in _MODIFIERS_OF[field]:
            raise InvalidValue(f"{field} cannot be compared with .{raw_modifier}",
                               hint=f"{field} takes {', '.join('.' + m for m in _MODIFIERS_OF[field] if m)}")
        shown_value = f"'{value}'" if any(ch.isspace() or ch in "()" for ch in value) else value
        text = f"{field}{'.' + modifier if modifier else ''}:{shown_value}"
        if modifier in ("none", "any"):
            value = ""
        if field == "status":
            return _status_term(text, modifier, value, self.today)
        builder = _BUILDERS[field] if field in _BUILDERS else (
            self.date_term if field in _DATE_FIELDS + _MOMENT_FIELDS else _text_term)
        return builder(text, field, modifier, value)

    def date_term(self, text: str, field: str, modifier: str, value: str) -> _Term:
        get = operator.attrgetter(field)
        empty = _empty_form(modifier, value)
        if empty is not None:
            return _Term(text, (lambda t, c: get(t) is None) if empty else (lambda t, c: get(t) is not None))
        if not value:
            raise InvalidValue(f"{field}.{modifier} needs a date", hint=f"such as {field}.{modifier}:today")
        day = self.resolve_date(value)
        low: Any
        high: Any
        if field in _MOMENT_FIELDS:
            low, high = _day_start(day), _day_start(day + _DAY)
        else:
            low, high = day, day + _DAY
        if modifier in ("", "is"):
            return _Term(text, lambda t, c: (v := get(t)) is not None and low <= v < high)
        if modifier in ("not", "isnt"):
            return _Term(text, lambda t, c: (v := get(t)) is None or not low <= v < high)
        if modifier == "before":
            return _Term(text, lambda t, c: (v := get(t)) is not None and v < low)
        if modifier == "after":
            return _Term(text, lambda t, c: (v := get(t)) is not None and v >= high)
        return _Term(text, lambda t, c: (v := get(t)) is not None and v < high)  # by


def _empty_form(modifier: str, value: str) -> bool | None:
    """True for "has none" (``due:``, ``.none``), False for "has one" (``due.not:``, ``.any``), None otherwise."""
    if modifier == "none" or (not value and modifier in ("", "is")):
        return True
    if modifier == "any" or (not value and modifier in ("not", "isnt")):
        return False
    return None


def _text_search(needle: str, text: str) -> _Term:
    if not needle:
        raise InvalidValue("an empty // searches for nothing", hint="put a word between the slashes: /milk/")
    folded = needle.casefold()

    def search(t: Task, c: FilterContext) -> bool:
        if folded in t.title.casefold() or (t.note and folded in t.note.casefold()):
            return True
        return any(folded in a.text.casefold() for a in t.annotations)

    return _Term(text if " " not in text else f"/{needle}/", search)


def _text_term(text: str, field: str, modifier: str, value: str) -> _Term:
    get = operator.attrgetter(field)
    empty = _empty_form(modifier, value)
    if empty is not None:
        return _Term(text, (lambda t, c: not get(t)) if empty else (lambda t, c: bool(get(t))))
    if not value:
        raise InvalidValue(f"{field}.{modifier} needs a value", hint=f"such as {field}.{modifier}:word")
    want = value.casefold()
    test: Callable[[str], bool]
    if modifier in ("", "not"):
        if field == "project":  # a project holds the projects below it, as in Taskwarrior
            below = want + "."
            test = lambda v: v == want or v.startswith(below)  # noqa: E731
        elif field == "recur":
            test = want.__eq__
        else:  # Taskwarrior's '=' on text compares the start
            test = lambda v: v.startswith(want)  # noqa: E731
    elif modifier in ("is", "isnt"):
        test = want.__eq__
    elif modifier in ("has", "hasnt"):
        test = lambda v: want in v  # noqa: E731
    elif modifier == "startswith":
        test = lambda v: v.startswith(want)  # noqa: E731
    else:
        test = lambda v: v.endswith(want)  # noqa: E731
    negate = modifier in ("not", "isnt", "hasnt")
    if field in ("project", "recur"):
        # Few distinct values: remember each one's answer rather than fold it again for every task.
        memo: dict[str, bool] = {}

        def remembered(t: Task, c: FilterContext) -> bool:
            v = get(t)
            if not v:
                return negate
            answer = memo.get(v)
            if answer is None:
                answer = test(v.casefold()) is not negate
                if len(memo) < 4096:
                    memo[v] = answer
            return answer

        return _Term(text, remembered)
    if negate:
        return _Term(text, lambda t, c: not ((v := get(t)) and test(v.casefold())))
    return _Term(text, lambda t, c: bool((v := get(t)) and test(v.casefold())))


def _status_term(text: str, modifier: str, value: str, today: dt.date) -> _Term:
    word = value.casefold()
    pinned: Status | None
    if word in ("open", "pending"):
        pinned = Status.OPEN
    elif word in ("done", "completed"):
        pinned = Status.DONE
    elif word == "recurring":
        pinned = Status.RECURRING
    elif word == "waiting":
        pinned = None
    else:
        hint = ("taskvault deletes tasks for good: no task has status deleted" if word == "deleted"
                else "use open (or pending), done (or completed), waiting or recurring")
        raise InvalidValue(f"{shown(value)} is not a status", hint=hint)
    if pinned is None:
        test: Predicate = lambda t, c: t.status is Status.OPEN and t.wait is not None and t.wait > today  # noqa: E731
        text_status: Status | None = Status.OPEN
    else:
        status = pinned
        test = lambda t, c: t.status is status  # noqa: E731
        text_status = pinned
    if modifier in ("not", "isnt"):
        return _Term(text, lambda t, c: not test(t, c))
    return _Term(text, test, status=text_status)


def _priority_term(text: str, field: str, modifier: str, value: str) -> _Term:
    word = value.casefold()
    if word in ("", "none"):
        wanted: Priority | None = None
    elif word in _PRIORITIES:
        wanted = _PRIORITIES[word]
    else:
        raise InvalidValue(f"{shown(value)} is not a priority", hint="use H, M, L (or high, medium, low), or none")
    if modifier == "any" or (modifier in ("not", "isnt") and wanted is None):
        return _Term(text, lambda t, c: t.priority is not None)
    if modifier in ("", "is", "none"):
        return _Term(text, lambda t, c: t.priority is wanted)
    if modifier in ("not", "isnt"):
        return _Term(text, lambda t, c: t.priority is not wanted)
    rank = _PRIORITY_RANK[wanted]
    ranks = _PRIORITY_RANK
    if modifier == "before":
        return _Term(text, lambda t, c: ranks[t.priority] < rank)
    if modifier == "after":
        return _Term(text, lambda t, c: ranks[t.priority] > rank)
    return _Term(text, lambda t, c: ranks[t.priority] <= rank)


def _id_term(text: str, field: str, modifier: str, value: str) -> _Term:
    if not _ID_LIST.fullmatch(value):
        raise InvalidValue(f"{shown(value)} is not an id, a list or a range of ids", hint="such as 12, 3-7 or 1,4-6")
    ids = _parse_ids(value)
    if modifier in ("", "is"):
        return _Term(text, lambda t, c: t.id in ids, ids=ids)
    if modifier in ("not", "isnt"):
        return _Term(text, lambda t, c: t.id not in ids)
    if len(ids) != 1:
        raise InvalidValue(f"id.{modifier} takes one id, not {shown(value)}", hint=f"such as id.{modifier}:10")
    (bound,) = ids
    if modifier == "before":
        return _Term(text, lambda t, c: t.id < bound)
    if modifier == "after":
        return _Term(text, lambda t, c: t.id > bound)
    return _Term(text, lambda t, c: t.id <= bound)


def _uuid_term(text: str, field: str, modifier: str, value: str) -> _Term:
    prefix = value.casefold()
    if not re.fullmatch(r"[0-9a-f-]+", prefix):
        raise InvalidValue(f"{shown(value)} is not a uuid or the start of one", hint="use hex digits, such as uuid:3f2a")
    if modifier in ("is", "isnt"):
        test: Predicate = lambda t, c: str(t.uuid) == prefix  # noqa: E731
    else:
        test = lambda t, c: str(t.uuid).startswith(prefix)  # noqa: E731
    if modifier in ("not", "isnt"):
        return _Term(text, lambda t, c: not test(t, c))
    return _Term(text, test, uuids=(prefix,) if modifier in ("", "startswith") else ())


def _tags_term(text: str, field: str, modifier: str, value: str) -> _Term:
    empty = _empty_form(modifier, value)
    if empty is not None:
        return _Term(text, (lambda t, c: not t.tags) if empty else (lambda t, c: bool(t.tags)))
    tags = frozenset(normalize_tag(part) for part in value.split(","))
    if modifier == "is":
        return _Term(text, lambda t, c: tags == frozenset(t.tags))
    if modifier in ("not", "isnt", "hasnt"):
        return _Term(text, lambda t, c: tags.isdisjoint(t.tags))
    return _Term(text, lambda t, c: tags.issubset(t.tags))


def _depends_term(text: str, field: str, modifier: str, value: str) -> _Term:
    empty = _empty_form(modifier, value)
    if empty is not None:
        return _Term(text, (lambda t, c: not t.depends) if empty else (lambda t, c: bool(t.depends)))
    ids: set[int] = set()
    prefixes: list[str] = []
    for part in value.casefold().split(","):
        if _ID_LIST.fullmatch(part) and not (len(part) > 8 and part[8] == "-"):
            ids |= _parse_ids(part)
        elif _UUID_WORD.fullmatch(part):
            prefixes.append(part)
        else:
            raise InvalidValue(f"{shown(part)} is not a task id or uuid", hint="such as depends:12 or depends:3f2a9c1b")
    starts = tuple(prefixes)

    def depends_on(t: Task, c: FilterContext) -> bool:
        if not t.depends:
            return False
        by_id = c.uuid_by_id
        if any(by_id.get(i) in t.depends for i in ids):
            return True
        return bool(starts) and any(str(u).startswith(starts) for u in t.depends)

    if modifier in ("not", "isnt", "hasnt"):
        return _Term(text, lambda t, c: not depends_on(t, c), uses_context=bool(ids))
    if modifier == "is":
        raise InvalidValue("depends.is is not a comparison a filter makes", hint="use depends:ID or depends.has:ID")
    return _Term(text, depends_on, uses_context=bool(ids))


_BUILDERS: dict[str, Callable[[str, str, str, str], _Term]] = {
    "priority": _priority_term, "id": _id_term, "uuid": _uuid_term, "tags": _tags_term,
    "depends": _depends_term,
}

# --- virtual tags -------------------------------------------------------------------------------------

_VirtualTag = tuple[Predicate, Status | None, bool]

#: Each virtual tag and what it means; ``+TAG`` selects the tasks it holds for, ``-TAG`` the others.
VIRTUAL_TAGS: dict[str, str] = {
    "PENDING": "open (waiting ones too)",
    "COMPLETED": "done",
    "WAITING": "open, with a wait date after today",
    "ACTIVE": "started",
    "SCHEDULED": "has a scheduled date",
    "READY": "open, not blocked, not waiting, and not scheduled after today",
    "BLOCKED": "open, and depends on an open task",
    "UNBLOCKED": "not BLOCKED",
    "BLOCKING": "open, and an open task depends on it",
    "OVERDUE": "open, due before today",
    "YESTERDAY": "not done, due yesterday",
    "TODAY": "not done, due today",
    "TOMORROW": "not done, due tomorrow",
    "DUE": "not done, due in the next 7 days (today to today+6)",
    "WEEK": "not done, due this week (Monday to Sunday)",
    "MONTH": "not done, due this month",
    "QUARTER": "not done, due this quarter",
    "YEAR": "not done, due this year",
    "TAGGED": "has a tag",
    "ANNOTATED": "has an annotation",
    "PROJECT": "has a project",
    "PRIORITY": "has a priority",
    "UNTIL": "has an until date",
    "TEMPLATE": "the template of a recurring series (PARENT is another name)",
    "PARENT": "TEMPLATE",
    "INSTANCE": "an instance of a recurring series (CHILD is another name)",
    "CHILD": "INSTANCE",
}


def _virtual_tags(today: dt.date) -> dict[str, _VirtualTag]:
    OPEN, DONE, RECURRING = Status.OPEN, Status.DONE, Status.RECURRING  # locals: faster to read in the closures
    week = today - dt.timedelta(days=today.weekday())
    month = today.replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    next_quarter = (quarter + dt.timedelta(days=93)).replace(day=1)
    year, next_year = today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)

    def due_within(low: dt.date, high: dt.date) -> Predicate:
        return lambda t, c: (d := t.due) is not None and low <= d < high and t.status is not DONE

    def ready(t: Task, c: FilterContext) -> bool:
        return (t.status is OPEN and (t.wait is None or t.wait <= today)
                and (t.scheduled is None or t.scheduled <= today) and not c.is_blocked(t))

    tags: dict[str, _VirtualTag] = {
        "PENDING": (lambda t, c: t.status is OPEN, OPEN, False),
        "COMPLETED": (lambda t, c: t.status is DONE, DONE, False),
        "WAITING": (lambda t, c: t.status is OPEN and t.wait is not None and t.wait > today, OPEN, False),
        "ACTIVE": (lambda t, c: t.started is not None, OPEN, False),
        "SCHEDULED": (lambda t, c: t.scheduled is not None, None, False),
        "READY": (ready, OPEN, True),
        "BLOCKED": (lambda t, c: c.is_blocked(t), OPEN, True),
        "UNBLOCKED": (lambda t, c: not c.is_blocked(t), None, True),
        "BLOCKING": (lambda t, c: c.is_blocking(t), OPEN, True),
        "OVERDUE": (lambda t, c: (d := t.due) is not None and d < today and t.status is OPEN, OPEN, False),
        "YESTERDAY": (due_within(today - _DAY, today), None, False),
        "TODAY": (due_within(today, today + _DAY), None, False),
        "TOMORROW": (due_within(today + _DAY, today + 2 * _DAY), None, False),
        "DUE": (due_within(today, today + 7 * _DAY), None, False),
        "WEEK": (due_within(week, week + 7 * _DAY), None, False),
        "MONTH": (due_within(month, next_month), None, False),
        "QUARTER": (due_within(quarter, next_quarter), None, False),
        "YEAR": (due_within(year, next_year), None, False),
        "TAGGED": (lambda t, c: bool(t.tags), None, False),
        "ANNOTATED": (lambda t, c: bool(t.annotations), None, False),
        "PROJECT": (lambda t, c: t.project is not None, None, False),
        "PRIORITY": (lambda t, c: t.priority is not None, None, False),
        "UNTIL": (lambda t, c: t.until is not None, None, False),
        "TEMPLATE": (lambda t, c: t.status is RECURRING, RECURRING, False),
        "INSTANCE": (lambda t, c: t.parent is not None, None, False),
    }
    tags["PARENT"] = tags["TEMPLATE"]
    tags["CHILD"] = tags["INSTANCE"]
    return tags


# --- the entry point ------------------------------------------------------------------------------------


def parse_filter(words: Iterable[str], *, today: dt.date,
                 resolve_date: Callable[[str], dt.date] | None = None) -> Filter:
    """The filter the command-line ``words`` spell; InvalidValue naming the first problem and where it is.

    ``resolve_date`` reads a date value (default: dates.parse_date relative to ``today``).
    """
    if resolve_date is None:
        from .dates import parse_date

        def resolve_date(text: str) -> dt.date:
            return parse_date(text, today=today)

    tokens = _tokens(words)
    root = _Parser(tokens, _TermReader(today, resolve_date)).parse()
    if root is None:
        return Filter(None, lambda t, c: True, needs_context=False)
    return Filter(root, _compile(root), needs_context=any(term.uses_context for term in _walk(root)))
