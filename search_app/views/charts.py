"""Pictures as SVG geometry: the tile map of China, the time chart and the diffusion
timeline. Pure functions over numbers the search core counted; the partial templates
(_map_svg.html, _time_svg.html, _timeline_svg.html) draw them, the same markup inline and
as a download, so a picture prints and works without script.
"""
from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from indexer.normalize import load_table

# A sequential single-hue scale (ColorBrewer "Blues", 5 classes): ordered light to dark,
# so it reads in grey print and for every common colour-vision deficiency.
SCALE = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
# Text on each class: dark on the light ones, white on the dark ones.
INK = ("#1b1b1b", "#1b1b1b", "#1b1b1b", "#ffffff", "#ffffff")
EMPTY_FILL, EMPTY_INK = "#ffffff", "#6b6b6b"
UNKNOWN_FILL = "#d9d9d9"   # a value that cannot be placed on the scale (no date)
STROKE = "#8c8c8c"
SELECTED_STROKE = "#1b1b1b"   # a ticked region: a heavier outline, not a colour
FONT = "Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Zen Hei, sans-serif"

TILE, TILE_GAP = 40, 4
_TILE = ('<title>{title}</title><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="3" fill="{fill}" '
         'stroke="{stroke}" stroke-width="{width}"></rect><text x="{cx}" y="{y1}" text-anchor="middle" '
         'font-size="11" fill="{ink}">{short}</text>')
_VALUE = '<text x="{cx}" y="{y2}" text-anchor="middle" font-size="10" font-weight="bold" fill="{ink}">{text}</text>'


@dataclass(frozen=True)
class Tile:
    name: str    # full name, as the region facet has it
    short: str   # the label on the tile
    col: int
    row: int



REGIONS = load_table("regions.tsv")


def _load_tiles() -> tuple[Tile, ...]:
    short = {row["name"]: row["short"] for row in REGIONS}
    return tuple(Tile(row["name"], short.get(row["name"], row["name"]), int(row["col"]), int(row["row"]))
                 for row in load_table("map_tiles.tsv"))


TILES = _load_tiles()
# The regions on the map, in the official order of regions.tsv (for lists and tables).
TILE_NAMES = tuple(row["name"] for row in REGIONS if row["name"] in {t.name for t in TILES})
SHORT_NAMES = {t.name: t.short for t in TILES}
SHORT_HTML = {t.name: str(escape(t.short)) for t in TILES}


# ------------------------------------------------------------------------------- scale

def classes(values, *, high_is_dark: bool = True) -> list[dict]:
    """Class bounds over the values present: each distinct value its own class when there
    are five or fewer, else five equal intervals. [{low, high, fill, ink}] light to dark."""
    present = sorted({int(v) for v in values if v is not None})
    if not present:
        return []
    if len(present) <= len(SCALE):
        bounds = [(v, v) for v in present]
    else:
        lo, hi = present[0], present[-1]
        uppers = [lo + math.ceil((hi - lo) * (i + 1) / len(SCALE)) for i in range(len(SCALE))]
        bounds, low = [], lo
        for upper in uppers:
            if upper >= low:
                bounds.append((low, upper))
                low = upper + 1
    n = len(bounds)
    shades = [round(i * (len(SCALE) - 1) / (n - 1)) if n > 1 else len(SCALE) - 2 for i in range(n)]
    if not high_is_dark:
        shades.reverse()
    return [{"low": low, "high": high, "fill": SCALE[s], "ink": INK[s]} for (low, high), s in zip(bounds, shades)]


def shade(value, bounds: list[dict]) -> tuple[str, str]:
    if value is None:
        return UNKNOWN_FILL, INK[0]
    for b in bounds:
        if value <= b["high"]:
            return b["fill"], b["ink"]
    return (bounds[-1]["fill"], bounds[-1]["ink"]) if bounds else (EMPTY_FILL, EMPTY_INK)


def legend(bounds: list[dict], unit: str, empty_label: str | None) -> list[dict]:
    items = [{"label": empty_label, "fill": EMPTY_FILL}] if empty_label else []
    for b in bounds:
        span = str(b["low"]) if b["low"] == b["high"] else f"{b['low']}–{b['high']}"
        items.append({"label": f"{span} {unit}", "fill": b["fill"]})
    return items


# ------------------------------------------------------------------------------- the map

def tile_map(entries: dict[str, dict], *, unit: str, empty_label: str | None,
             high_is_dark: bool = True, title: str = "") -> dict:
    """The tile map: `entries` maps a region's full name to {value (a number, or None when
    unknown), text (printed on the tile), title (its tooltip), url (or None), selected,
    empty (drawn as no value, e.g. a ticked region without hits)}. Regions without an
    entry are drawn empty; a region the map has no tile for shows in the table twin only."""
    bounds = classes((e["value"] for e in entries.values() if not e.get("empty")), high_is_dark=high_is_dark)
    tiles = []
    for t in TILES:
        entry = entries.get(t.name)
        drawn = entry and not entry.get("empty")
        fill, ink = shade(entry["value"], bounds) if drawn else (EMPTY_FILL, EMPTY_INK)
        x, y = t.col * (TILE + TILE_GAP), t.row * (TILE + TILE_GAP)
        selected = bool(entry and entry.get("selected"))
        text = entry["text"] if entry else ""
        title = entry["title"] if entry else f"{t.name}：无"
        # The tile's drawing as markup: a results page draws 34 tiles for every search, and a
        # template expression per attribute would cost a millisecond more. The text that
        # comes from outside (title, value) is escaped; the colours are this module's own.
        fields = {"title": escape(title), "short": SHORT_HTML[t.name], "text": escape(text), "x": x, "y": y,
                  "size": TILE, "fill": fill, "ink": ink, "cx": x + TILE / 2, "y1": y + 17,
                  "y2": y + 32, "stroke": SELECTED_STROKE if selected else STROKE,
                  "width": 2.5 if selected else 0.8}
        body = Markup(_TILE.format(**fields) + (_VALUE.format(**fields) if text else ""))
        tiles.append({"name": t.name, "short": t.short, "text": text, "title": title, "fill": fill,
                      "url": entry.get("url") if entry else None, "selected": selected, "body": body})
    cols = max(t.col for t in TILES) + 1
    rows = max(t.row for t in TILES) + 1
    return {
        "title": title, "tiles": tiles, "size": TILE, "font": FONT, "stroke": STROKE,
        "width": cols * (TILE + TILE_GAP) - TILE_GAP, "height": rows * (TILE + TILE_GAP) - TILE_GAP,
        "legend": legend(bounds, unit, empty_label),
    }


# ------------------------------------------------------------------------------- time

# Bars by month up to two years, by quarter up to six, by year beyond: never more than
# about two dozen bars, so the chart stays readable from one month to ten years.
MONTHS_BY_MONTH, MONTHS_BY_QUARTER = 24, 72
CHART_WIDTH, CHART_HEIGHT, AXIS = 240, 64, 13


def _month_index(value: str) -> int | None:
    try:
        year, month = int(value[:4]), int(value[5:7])
    except (TypeError, ValueError):
        return None
    return year * 12 + month - 1 if 1 <= month <= 12 else None


def time_bins(histogram: list[dict], url_for_range, *, dated: bool) -> dict | None:
    """The month counts of a search as bars of a month, a quarter or a year (whichever
    the span needs), empty periods included so the axis is even; each bar with at least
    one hit links to its date range via `url_for_range(first_day, last_day)`."""
    months = {}
    for item in histogram or []:
        index = _month_index(str(item.get("value") or ""))
        if index is not None and item.get("count"):
            months[index] = (int(item["count"]), bool(item.get("selected")))
    if not months:
        return None
    first, last = min(months), max(months)
    span = last - first + 1
    unit = "month" if span <= MONTHS_BY_MONTH else "quarter" if span <= MONTHS_BY_QUARTER else "year"
    size = {"month": 1, "quarter": 3, "year": 12}[unit]
    start = first - first % size
    bins = []
    for low in range(start, last + 1, size):
        inside = [months[m] for m in range(low, low + size) if m in months]
        year, month = divmod(low, 12)
        month += 1
        end_year, end_month = divmod(low + size - 1, 12)
        end_month += 1
        label = {"month": f"{year}年{month}月", "quarter": f"{year}年第{(month - 1) // 3 + 1}季度",
                 "year": f"{year}年"}[unit]
        bins.append({
            "label": label, "year": year, "month": month,
            "count": sum(c for c, _ in inside),
            "selected": dated and any(s for _, s in inside),
            "first": date(year, month, 1).isoformat(),
            "last": date(end_year, end_month, calendar.monthrange(end_year, end_month)[1]).isoformat(),
        })
    peak = max(b["count"] for b in bins)
    step = CHART_WIDTH / len(bins)
    bar_w = min(max(step * 0.8, 1.0), 24.0)
    for i, b in enumerate(bins):
        h = max(round(CHART_HEIGHT * b["count"] / peak), 2) if b["count"] else 0
        b.update(x=round(i * step + (step - bar_w) / 2, 2), w=round(bar_w, 2), y=CHART_HEIGHT - h, h=h,
                 cx=round(i * step + step / 2, 2),
                 url=url_for_range(b["first"], b["last"]) if b["count"] else None,
                 tick=_tick(unit, b, i, len(bins)))
    return {"unit": unit, "unit_label": {"month": "按月", "quarter": "按季度", "year": "按年"}[unit],
            "bins": bins, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT, "axis": AXIS,
            "first": bins[0]["label"], "last": bins[-1]["label"], "font": FONT}


def _tick(unit: str, b: dict, i: int, n: int) -> str:
    """Axis labels sparse enough not to collide at the chart's width."""
    if unit == "month":
        if n <= 8:
            return f"{b['month']}月"
        return str(b["year"]) if b["month"] == 1 or i == 0 else ""
    if unit == "quarter":
        return str(b["year"]) if b["month"] == 1 or i == 0 else ""
    every = 1 if n <= 6 else 2 if n <= 12 else 5
    return str(b["year"]) if (b["year"] % every == 0 or i == 0) else ""


TIMELINE_WIDTH, TIMELINE_HEIGHT = 480, 150
TIMELINE_MARGIN = {"left": 30, "right": 14, "top": 12, "bottom": 26}


def timeline(steps: list[dict], start: str | None) -> dict | None:
    """A step chart of the cumulative number of regions over time. `steps`: [{date (ISO),
    count (cumulative), label}] in date order; `start`: the day counting starts from (the
    central document's publication), drawn as a marker when known."""
    dated = [s for s in steps if s.get("date")]
    if not dated:
        return None
    days = [date.fromisoformat(s["date"][:10]) for s in dated]
    origin = date.fromisoformat(start[:10]) if start else days[0]
    first, last = min([origin, *days]), max([origin, *days])
    total_days = max((last - first).days, 1)
    m = TIMELINE_MARGIN
    plot_w = TIMELINE_WIDTH - m["left"] - m["right"]
    plot_h = TIMELINE_HEIGHT - m["top"] - m["bottom"]
    top = max(s["count"] for s in dated)

    def x(day: date) -> float:
        return round(m["left"] + plot_w * (day - first).days / total_days, 1)

    def y(count: int) -> float:
        return round(m["top"] + plot_h * (1 - count / top), 1)

    path = [f"M{x(first)},{y(0)}"]
    points = []
    for s, day in zip(dated, days):
        path.append(f"H{x(day)}V{y(s['count'])}")
        points.append({"x": x(day), "y": y(s["count"]), "title": s["label"]})
    path.append(f"H{x(last)}")
    return {
        "width": TIMELINE_WIDTH, "height": TIMELINE_HEIGHT, "margin": m, "font": FONT,
        "path": "".join(path), "points": points, "top": top, "y_top": y(top), "y_zero": y(0),
        "x_first": x(first), "x_last": x(last),
        "first_label": first.isoformat(), "last_label": last.isoformat(),
        "start_x": x(origin) if start else None, "ink": SCALE[-1],
    }
