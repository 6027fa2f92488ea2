"""The search state carried in the URL: declared once, parsed strictly, rebuilt for links.

The page, the JSON API, the exports and the feed all read their parameters through
`parse_search_args`, so a bookmark, a script and a feed subscription mean the same thing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from indexer.dates import date_bound
from indexer.errors import BadDate
from indexer.schema import FACET_LABELS, FACET_TITLES, LISTED_FACETS
from indexer.schema import SORTS as SORT_LABELS
from search_app.settings import setting


# Facets shown in the sidebar, in display order. `name` is both the URL parameter and the
# key in the search module's `filters` / `facets`; `filter_box` adds a type-to-filter box
# (progressive enhancement) because issuing bodies run to hundreds of values.
@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    filter_box: bool = False
    value_labels: tuple[tuple[str, str], ...] = ()

    def label_for(self, value: str) -> str:
        return dict(self.value_labels).get(value, value)


# Facets with many values get a type-to-filter box.
FILTER_BOX_FACETS = frozenset({"region", "city", "body", "category", "cites"})

FACETS: tuple[Facet, ...] = tuple(
    Facet(name, FACET_TITLES[name], filter_box=name in FILTER_BOX_FACETS,
          value_labels=tuple(FACET_LABELS.get(name, {}).items()))
    for name in LISTED_FACETS
)
FACETS_BY_NAME = {f.name: f for f in FACETS}
FILTER_NAMES = tuple(f.name for f in FACETS)

SORTS = tuple(SORT_LABELS.items())
SORT_NAMES = tuple(SORT_LABELS)

# Limits: a clamp where the intent is obvious, a 400 where guessing would mislead.
DEFAULT_PER_PAGE = setting("default_per_page")
MAX_PER_PAGE = setting("max_per_page")
MAX_RESULT_WINDOW = setting("max_result_window")
MAX_QUERY_CHARS = setting("query_param_chars")
MAX_VALUE_CHARS = setting("filter_value_chars")
MAX_VALUES_PER_FILTER = setting("filter_values")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


class BadParameter(ValueError):
    """A parameter a user sent that cannot be honoured; the message is shown as-is."""


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    sort: str | None = None  # None: the default for the query (relevance, or newest for an empty query)
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def effective_sort(self) -> str:
        if self.sort:
            return self.sort
        return "relevance" if self.q.strip() else "newest"

    def search_filters(self) -> dict:
        """The `filters` argument of Searcher.search."""
        out: dict = {name: list(values) for name, values in self.filters.items() if values}
        if self.date_from:
            out["date_from"] = self.date_from
        if self.date_to:
            out["date_to"] = self.date_to
        return out

    @property
    def has_filters(self) -> bool:
        return any(self.filters.values()) or bool(self.date_from or self.date_to)

    def chips(self) -> list[dict]:
        """Active filters, each with the query string that removes it."""
        chips = []
        for facet in FACETS:
            for value in self.filters.get(facet.name, ()):
                rest = tuple(v for v in self.filters[facet.name] if v != value)
                chips.append({
                    "label": facet.label,
                    "value": facet.label_for(value),
                    "remove": self.replace(filters={**self.filters, facet.name: rest}, page=1).query_string(),
                })
        if self.date_from:
            chips.append({"label": "起始日期", "value": self.date_from,
                          "remove": self.replace(date_from=None, page=1).query_string()})
        if self.date_to:
            chips.append({"label": "截止日期", "value": self.date_to,
                          "remove": self.replace(date_to=None, page=1).query_string()})
        return chips

    def replace(self, **changes) -> "SearchParams":
        return replace(self, **changes)

    def toggled(self, name: str, value: str) -> "SearchParams":
        current = self.filters.get(name, ())
        values = tuple(v for v in current if v != value) if value in current else current + (value,)
        return self.replace(filters={**self.filters, name: values}, page=1)

    def cleared(self) -> "SearchParams":
        return SearchParams(q=self.q, sort=self.sort, per_page=self.per_page)

    def query_items(self, *, paging: bool = True) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = []
        if self.q:
            items.append(("q", self.q))
        for name in FILTER_NAMES:
            items.extend((name, v) for v in self.filters.get(name, ()))
        if self.date_from:
            items.append(("date_from", self.date_from))
        if self.date_to:
            items.append(("date_to", self.date_to))
        if self.sort:
            items.append(("sort", self.sort))
        if paging:
            if self.page != 1:
                items.append(("page", str(self.page)))
            if self.per_page != DEFAULT_PER_PAGE:
                items.append(("per_page", str(self.per_page)))
        return items

    def query_string(self, *, paging: bool = True) -> str:
        return urlencode(self.query_items(paging=paging))

    def to_json(self) -> dict:
        return {
            "q": self.q,
            "filters": self.search_filters(),
            "sort": self.effective_sort,
            "page": self.page,
            "per_page": self.per_page,
        }


def _clean(value: str, what: str, limit: int) -> str:
    if _CONTROL.search(value):
        raise BadParameter(f"参数「{what}」含有不允许的控制字符。")
    value = value.strip()
    if len(value) > limit:
        raise BadParameter(f"参数「{what}」过长：最多 {limit} 个字符，收到 {len(value)} 个。")
    return value


def _int(raw: str | None, what: str, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    raw = raw.strip()
    if not re.fullmatch(r"[+-]?\d{1,12}", raw):
        raise BadParameter(f"参数「{what}」应为整数，收到「{raw[:40]}」。")
    return int(raw)


def parse_date_param(raw: str | None, what: str, *, end: bool) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD → an ISO date; a partial date covers its whole period.
    Stricter than a query's own dates: a URL carries ASCII digits and dashes only."""
    if raw is None:
        return None
    raw = _clean(raw, what, 20)
    if not raw:
        return None
    iso_like = raw.replace("/", "-").replace(".", "-")
    if not _DATE.match(iso_like):
        raise BadParameter(f"参数「{what}」不是有效日期：请用 YYYY-MM-DD 格式，例如 2021-12-01。")
    try:
        # Any year a date can hold: whether the search accepts it is the search's
        # to say, with its own message on the search page.
        return date_bound(iso_like, upper=end, min_year=1)
    except BadDate as exc:
        if exc.reason == "month":
            raise BadParameter(f"参数「{what}」不是有效日期：月份应在 1–12 之间。") from None
        raise BadParameter(f"参数「{what}」不是有效日期：{raw}。") from None


def parse_search_args(args) -> SearchParams:
    """Werkzeug MultiDict (request.args) → SearchParams, or BadParameter with a Chinese message."""
    q = _clean(args.get("q", ""), "q", MAX_QUERY_CHARS)

    filters: dict[str, tuple[str, ...]] = {}
    for name in FILTER_NAMES:
        values: list[str] = []
        for raw in args.getlist(name):
            value = _clean(raw, name, MAX_VALUE_CHARS)
            if value and value not in values:
                values.append(value)
        if len(values) > MAX_VALUES_PER_FILTER:
            raise BadParameter(f"参数「{name}」的取值过多：最多 {MAX_VALUES_PER_FILTER} 个。")
        if name in ("kind", "level"):
            allowed = dict(FACETS_BY_NAME[name].value_labels)
            for value in values:
                if value not in allowed:
                    choices = "、".join(allowed)
                    raise BadParameter(f"参数「{name}」只能取 {choices}，收到「{value}」。")
        if values:
            filters[name] = tuple(values)

    date_from = parse_date_param(args.get("date_from"), "date_from", end=False)
    date_to = parse_date_param(args.get("date_to"), "date_to", end=True)
    if date_from and date_to and date_from > date_to:
        raise BadParameter(f"起始日期 {date_from} 晚于截止日期 {date_to}。")

    sort = _clean(args.get("sort", ""), "sort", 20) or None
    if sort is not None and sort not in SORT_NAMES:
        choices = "、".join(SORT_NAMES)
        raise BadParameter(f"排序方式「{sort}」无效：只能是 {choices}。")

    per_page = min(max(_int(args.get("per_page"), "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    last_reachable = max(MAX_RESULT_WINDOW // per_page, 1)
    page = min(max(_int(args.get("page"), "page", 1), 1), last_reachable)

    return SearchParams(q=q, filters=filters, date_from=date_from, date_to=date_to,
                        sort=sort, page=page, per_page=per_page)


# A document id names a record, never a path: letters, digits and dashes as the
# parser produces them (2021-12-c04, 2021-12-act03).
_DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def valid_doc_id(doc_id: str) -> bool:
    return bool(_DOC_ID.match(doc_id)) and ".." not in doc_id
