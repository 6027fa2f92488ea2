"""Filters: the `filters` argument checked and normalised, and turned into the
documents each selection allows (facet values OR'ed within a key, keys AND'ed,
publish and written date ranges).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from indexer.dates import date_bound
from indexer.errors import BadDate
from indexer.lineage import filter_key
from indexer.normalize import canonical_body
from indexer.schema import DATE_FILTERS, FACET_LABELS, FILTER_FACETS

from .errors import QueryError
from .query.lexer import CONTROL_RE


def parse_date_bound(value: str, upper: bool) -> str:
    """A date filter's bound as an ISO day (indexer.dates.date_bound), or QueryError."""
    try:
        return date_bound(value, upper)
    except BadDate as exc:
        raise QueryError(str(exc)) from None


def _values(raw) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    try:
        items = list(raw)
    except TypeError:
        raise QueryError("筛选条件的取值应为文字或文字列表") from None
    out = []
    for item in items:
        if item is None:
            continue
        value = CONTROL_RE.sub("", str(item)).strip()
        if value and value not in out:
            out.append(value[:100])
    return out


def normalize_filters(filters: dict | None) -> dict:
    """Validated filters: facet keys → lists of values, date keys → ISO days."""
    result: dict = {}
    for key, raw in (filters or {}).items():
        if key in FILTER_FACETS:
            values = _values(raw)
            if values:
                result[key] = values
        elif key in DATE_FILTERS:
            values = _values(raw)
            if values:
                result[key] = parse_date_bound(values[0], upper=key.endswith("_to"))
        else:
            raise QueryError(f"未知的筛选条件：{str(key)[:40]}")
    for low, high, label in (("date_from", "date_to", "发布日期"), ("written_from", "written_to", "成文日期")):
        if low in result and high in result and result[low] > result[high]:
            raise QueryError(f"{label}的起始日期晚于截止日期")
    return result



def selections(gen, flt: dict):
    """Per facet key: the documents its selected values allow (OR within a key)."""
    selections: dict[str, set[int]] = {}
    selected_values: dict[str, list[str]] = {}
    for key in FILTER_FACETS:
        if key not in flt:
            continue
        values = [_resolve_value(gen, key, v) for v in flt[key]]
        values = list(dict.fromkeys(values))
        selected_values[key] = values
        docs: set[int] = set()
        lookup = gen.filter_by_value.get(key, gen.by_value[key])
        for value in values:
            docs.update(lookup.get(value, ()))
        selections[key] = docs
    return selections, selected_values


def _resolve_value(gen, key: str, value: str) -> str:
    """A filter value as the index stores it: a body alias → its canonical name,
    中央/地方 → central/local, 福建 → 福建省."""
    known = gen.by_value.get(key, {})
    if value in known:
        return value
    for code, label in FACET_LABELS.get(key, {}).items():
        if value == label:
            return code
    if key == "body":
        try:
            canonical = canonical_body(value)
        except Exception:  # the table is data; a bad row must not break search
            canonical = value
        if canonical in known:
            return canonical
        return canonical or value
    if key in ("region", "city"):
        candidates = [k for k in known if k.startswith(value)]
        if len(candidates) == 1:
            return candidates[0]
    if key == "cites":
        return filter_key(value) or value
    return value


def allowed_by_dates(gen, flt: dict, keys=tuple(DATE_FILTERS)) -> np.ndarray | None:
    """The documents (ascending docnums) whose dates the filters' ranges allow, or None
    where no range is set. A field's values are numbered in sorted order, so a bound
    is a number found by bisection and each document's date is compared as its number,
    none decoded."""
    allowed = None
    for key in keys:
        if key not in flt:
            continue
        fieldname, op = DATE_FILTERS[key]
        dates = gen.dates[fieldname]
        numbers, ranks = range(dates.field.size), dates.ranks()
        if op == ">=":
            inside = ranks >= bisect_left(numbers, flt[key], key=dates.field.value)
        else:
            inside = (ranks >= 0) & (ranks < bisect_right(numbers, flt[key], key=dates.field.value))
        allowed = inside if allowed is None else allowed & inside
    return None if allowed is None else np.flatnonzero(allowed)
