"""Every limit and default of the search service, declared once with what it is for.

The search core, the URL parameters, the pages, the exports and the CLI all read
their limits from here (`setting(name)`); the table with its help text is
`settings.tsv` beside this file. Values are fixed at start-up (no runtime
configuration): changing one is a reviewed change like any other.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: int
    help: str


def _load(path: Path) -> tuple[Setting, ...]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    if header != ["name", "value", "help"] or any(len(r) != 3 for r in rows):
        raise ValueError(f"{path}: expected rows of name, value, help")
    return tuple(Setting(name, int(value), text) for name, value, text in rows)


# The table itself is search_app/settings.tsv: a list of settings reads best as a table.
SETTINGS: tuple[Setting, ...] = _load(Path(__file__).with_name("settings.tsv"))

DEFAULTS: dict[str, int] = {s.name: s.default for s in SETTINGS}


def setting(name: str) -> int:
    """The value of a declared setting (KeyError for a name not in SETTINGS)."""
    return DEFAULTS[name]
