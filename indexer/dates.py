"""Dates: as a report prints them (`parse_date`) and as a user bounds a period (`date_bound`).

A report's date is lenient: it is found anywhere in a line and a spaced year ('202 1') is
read, because PDF extraction breaks lines that way. A bound is strict: the whole value must
be a year, a month or a day, and one that does not exist is refused with a Chinese message
(`BadDate`) the search layer passes on to the user.
"""
from __future__ import annotations

import calendar
import re
import unicodedata

from indexer.errors import BadDate

_REPORT_DATE_RE = re.compile(
    r"(?P<y>(?:19|20)\d\s?\d)\s*(?:年|-|/|\.)\s*(?P<m>\d{1,2})\s*(?:月|-|/|\.)\s*(?P<d>\d{1,2})\s*日?"
)
_BOUND_RE = re.compile(r"^\s*(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?)?\s*年?\s*$")


def parse_date(text: str | None) -> str | None:
    """'2021 年 12 月 12 日', '2021-12-03', '2021/12/1' → ISO date, else None."""
    if not text:
        return None
    m = _REPORT_DATE_RE.search(text)
    if not m:
        return None
    y = int(m.group("y").replace(" ", ""))
    mo, d = int(m.group("m")), int(m.group("d"))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def date_bound(value: str, upper: bool, min_year: int = 1000) -> str:
    """'2021' / '2021-12' / '2021-12-08' (or 2021年12月8日) → an ISO day; a partial
    date as a lower bound is its first day, as an upper bound its last. BadDate
    (reason 'format', 'year', 'month' or 'day') when it is not such a date, or its
    year is before `min_year` (a search's dates start at 1000)."""
    shown = str(value)[:40]
    m = _BOUND_RE.match(unicodedata.normalize("NFKC", str(value)))
    if not m:
        raise BadDate(f"日期格式应为 YYYY-MM-DD（或 YYYY-MM、YYYY）：{shown}", "format")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (12 if upper else 1)
    if not 1 <= month <= 12:
        raise BadDate(f"日期不存在：{shown}", "month")
    if not min_year <= year <= 9999:
        raise BadDate(f"日期不存在：{shown}", "year")
    last = calendar.monthrange(year, month)[1]
    day = int(m.group(3)) if m.group(3) else (last if upper else 1)
    if not 1 <= day <= last:
        raise BadDate(f"日期不存在：{shown}", "day")
    return f"{year:04d}-{month:02d}-{day:02d}"
