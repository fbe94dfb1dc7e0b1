"""Completion and hover, in the language's words: what may be written at the cursor, and what a name is.

Keywords come from the parser (``plays.dsl.editing.keywords_at``: the
terminals Lark's interactive parser accepts at the cursor); names from the
spec set's index: metrics, attributes and enum values in conditions, date
attributes after ``deploy: on``, the playbook's tasks after ``after:``, the
allowed words after ``severity:``, ``category:`` and ``type:``, types after
``metric NAME:`` and in the ``account`` block. Property keys are the ones
the block takes (an alert is not offered ``duration:``).

>>> [i.label for i in complete("alert a {\\n  sev", 14, None)]
['cooldown', 'for', 'playbook', 'severity', 'when', 'where']
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from plays.dsl.editing import keywords_at, terminal_names, terminal_words
from plays.dsl.language import (
    ALERT_KEYS,
    ATTRIBUTE_TYPES,
    BLOCK_KEYS,
    CATEGORIES,
    DATE_ATTRIBUTE,
    EXTERNAL_KEYS,
    FUNCTIONS,
    GOAL_KEYS,
    METRIC,
    METRIC_TYPES,
    SEVERITIES,
    TASK_KEYS,
    TASK_TYPES,
)

from .symbols import ATTRIBUTE, ENUM_VALUE, FUNCTION, METRIC as METRIC_KIND, TASK, Index, Occurrence

KEYWORD, VALUE, TYPE = "keyword", "value", "type"

_KEYS_OF = {"alert": ALERT_KEYS, "goal": GOAL_KEYS, "external": EXTERNAL_KEYS}
_WORDS_AFTER = {"SEVERITY": SEVERITIES, "CATEGORY": CATEGORIES, "TYPE": TASK_TYPES}


@functools.cache
def _property_keys() -> frozenset[str]:
    """The terminal names of the property keys (``severity`` -> ``SEVERITY``), read from the grammar: Lark
    names some keywords itself (``duration`` is an anonymous ``__ANON_n``), so the names are not written here."""
    words = set(BLOCK_KEYS) | set(TASK_KEYS)
    return frozenset(name for name in terminal_names() if set(terminal_words(name)) & words)


@dataclass(frozen=True, slots=True)
class Item:
    """One completion: the text, what it is (keyword, metric, attribute, ...), a one-line detail."""

    label: str
    kind: str
    detail: str = ""


def word_start(text: str, offset: int) -> int:
    """Where the name being typed at ``offset`` begins."""
    i = offset
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_") and text[i - 1].isascii():
        i -= 1
    return i


def complete(text: str, offset: int, index: Index | None, path: str = "") -> list[Item]:
    """What may be written at ``offset`` of ``text`` (the file ``path`` of the indexed spec set).

    The items are sorted by label; an editor filters them by what is already typed.
    """
    start = word_start(text, offset)
    k = keywords_at(text, start)
    if k is None:
        return []
    block = _block_kind(k.before)
    items: dict[str, Item] = {}
    at_keys = bool(k.accepts & {"SEVERITY", "CATEGORY", "MEASURE"})
    for terminal in k.accepts:
        for word in terminal_words(terminal):
            if at_keys and word in BLOCK_KEYS and block in _KEYS_OF and word not in _KEYS_OF[block]:
                continue
            if word == "enum" and block == "metric":
                continue  # the grammar reads one type rule for both; metrics are count, number, money, percent
            items.setdefault(word, Item(word, KEYWORD))
    if "NAME" in k.accepts:
        for item in _names(k.before, k.before_types, block, index or Index(), path, text[offset:]):
            items.setdefault(item.label, item)
    return sorted(items.values(), key=lambda i: i.label)


def _block_kind(before: tuple[str, ...]) -> str:
    """The declaration being written: ``alert``, ``goal``, ``external``, ``metric``, ``account`` (or "")."""
    return before[0] if before else ""


def _names(before, types, block: str, index: Index, path: str, after: str) -> list[Item]:
    """The names that may be written where the parser takes a NAME, by what comes before."""
    last = types[-1] if types else ""
    if not types:
        return []
    if last in ("ALERT", "GOAL", "METRIC", "TASK", "PLAYBOOK") or types[-2:] == ("EXTERNAL", "GOAL"):
        return []  # a new name is being declared
    if last == "DOT" and types[-2:-1] == ("ACCOUNT",):
        return _attributes(index)
    if last == "COLON" and len(types) >= 2 and types[-2] in _WORDS_AFTER:
        return [Item(w, VALUE, f"a {types[-2].lower()}") for w in _WORDS_AFTER[types[-2]]]
    if last == "COLON" and block == "metric":
        return [Item(t, TYPE, "a metric type") for t in METRIC_TYPES]
    if last == "COLON" and block == "account" and types[-2] == "NAME":
        return [Item(t, TYPE, "an attribute type") for t in ATTRIBUTE_TYPES if t != "enum"]
    key = _current_key(types)
    if key == "AFTER":
        return _tasks(before, types, index, path, after)
    if key in ("OWNER", "FOR", "COOLDOWN", "__ANON_0", "DUE", "EVERY", "UNTIL", "START"):
        return []
    if last == "ON" and key == "DEPLOY":
        return _attributes(index, only="date")
    if last == "LPAR" and len(before) >= 2 and types[-2] == "NAME" and before[-2] in FUNCTIONS:
        first = FUNCTIONS[before[-2]].params[0]
        if first == METRIC:
            return _metrics(index)
        if first == DATE_ATTRIBUTE:
            return _attributes(index, only="date")
    if key == "KPI" or key in ("WHERE", "WHEN") or last in ("LPAR", "COMMA"):
        return _metrics(index) + _attributes(index) + _enum_values(index) + _functions()
    return []


def _current_key(types) -> str:
    """The property key (terminal name) whose value is being written: the last key followed by ``:``."""
    for i in range(len(types) - 1, -1, -1):
        t = types[i]
        if t == "WHERE" and (i + 1 == len(types) or types[i + 1] != "COLON"):
            return "WHERE"  # `playbook x where ...`
        if t in _property_keys() and i + 1 < len(types) and types[i + 1] == "COLON":
            return t
        if t in ("LBRACE", "RBRACE"):
            return ""
    return ""


def _metrics(index: Index) -> list[Item]:
    return [Item(m.name, METRIC_KIND, f"metric: {m.type}") for m in index.metrics.values()]


def _attributes(index: Index, only: str | None = None) -> list[Item]:
    return [
        Item(a.name, ATTRIBUTE, f"attribute: {_type_text(a.type, a.values)}")
        for a in index.attributes.values()
        if only is None or a.type == only
    ]


def _enum_values(index: Index) -> list[Item]:
    out = []
    for a in index.attributes.values():
        out += [Item(v, ENUM_VALUE, f"a value of {a.name}") for v in a.values]
    return out


def _functions() -> list[Item]:
    return [Item(f.name, FUNCTION, f"{f.shape} -> {f.result if f.result != 'metric' else 'the metric type'}")
            for f in FUNCTIONS.values()]


def _tasks(before, types, index: Index, path: str, after: str) -> list[Item]:
    """The tasks of the playbook being written: declared before the cursor, and after it (``after``, the
    text after the cursor, read up to the end of the playbook: the declaration may not parse yet)."""
    books = [i for i, t in enumerate(types) if t == "PLAYBOOK"]
    if not books:
        return []
    begin = books[-1]
    names: list[str] = []
    current = None
    for i in range(begin, len(types) - 1):
        if types[i] == "TASK" and types[i + 1] == "NAME":
            current = before[i + 1]
            names.append(current)
    rule = before[2] if before[:1] == ("external",) and len(before) > 2 else before[1] if len(before) > 1 else ""
    scope = (path, rule, len(books) - 1)
    names += list(index.tasks.get(scope, {}))
    depth = 1  # inside the task's braces
    for m in _TASKS_AFTER.finditer(after):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth < 0:
                break  # the end of the playbook
        elif m.group(1):
            names.append(m.group(1))
    return [Item(n, TASK, "a task of this playbook") for n in dict.fromkeys(names) if n != current]


_TASKS_AFTER = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]|\btask\s+([a-z_][a-z0-9_]*)')


def _type_text(typ: str, values: tuple[str, ...]) -> str:
    return f"enum({', '.join(values)})" if typ == "enum" else typ


# --- hover ----------------------------------------------------------------------------


def hover(occ: Occurrence, index: Index) -> str | None:
    """Markdown for the name under the cursor: its declaration, type and description."""
    if occ.kind == METRIC_KIND and occ.name in index.metrics:
        m = index.metrics[occ.name]
        text = f"```\nmetric {m.name}: {m.type}\n```"
        return text + (f"\n\n{m.description}" if m.description else "")
    if occ.kind == ATTRIBUTE and occ.name in index.attributes:
        a = index.attributes[occ.name]
        return f"```\naccount.{a.name}: {_type_text(a.type, a.values)}\n```\n\nan attribute of the account catalog"
    if occ.kind == ENUM_VALUE:
        owners = [a for a in index.attributes.values() if a.type == "enum" and occ.name in a.values]
        if owners:
            return "\n\n".join(f"`{occ.name}`: a value of `{a.name}` ({_type_text(a.type, a.values)})" for a in owners)
        return None
    if occ.kind == FUNCTION and occ.name in FUNCTIONS:
        f = FUNCTIONS[occ.name]
        result = "the metric's type" if f.result == "metric" else f.result
        return f"```\n{f.shape}\n```\n\n{f.meaning} (gives {result})"
    if occ.kind == TASK:
        task = index.tasks.get(occ.scope, {}).get(occ.name)
        if task is not None:
            return f"task `{task.name}` \"{task.title}\" of `{task.rule}`"
    return None


def code_doc(code: str) -> str:
    """A diagnostic code's documentation, in markdown (``plays explain-code``'s text: title, explanation, examples)."""
    from plays.codes import explain

    return explain(code)
