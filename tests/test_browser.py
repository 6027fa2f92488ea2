"""End to end in a real headless Chromium against a real `policy-search serve` process.

Each step saves a screenshot under tests/artifacts/.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web_support import ARTIFACTS, WEB_IDS, Server, web_index, web_records  # noqa: F401 - fixtures

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip("/usr/bin/chromium is not installed (make browser installs Debian's chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")


@pytest.fixture(scope="module")
def server(web_index, tmp_path_factory):
    running = Server(web_index, workers=2, log_dir=tmp_path_factory.mktemp("browser-serve"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors and CSP violations are collected."""

    def __init__(self, browser, base: str, **context_options):
        self.context = browser.new_context(locale="zh-CN", **context_options)
        self.page = self.context.new_page()
        self.base = base
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("request", self._local_only)

    def _local_only(self, request):
        if not request.url.startswith(self.base):
            self.problems.append(f"external request: {request.url}")

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str, full_page: bool = False, element=None) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = element if element is not None else self.page
        options = {} if element is not None else {"full_page": full_page}
        target.screenshot(path=str(ARTIFACTS / f"{name}.png"), **options)

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


@pytest.fixture
def watched(browser, server):
    pages = []

    def open_page(**options) -> Watched:
        w = Watched(browser, server.base, **options)
        pages.append(w)
        return w

    yield open_page
    for w in pages:
        w.close()


def total_on(page) -> int:
    return int(re.search(r"共\s*([\d,]+)\s*条", page.locator("h1").inner_text()).group(1).replace(",", ""))


def facet_count(page, facet: str, value: str) -> int:
    label = page.locator(f'fieldset[data-facet="{facet}"] label.facet-value', has=page.locator(f'input[value="{value}"]'))
    return int(label.locator(".facet-count").inner_text())


def params(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def test_search_filter_chip_document_and_csv(watched, web_records):
    w = watched(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = w.goto("/")
    assert total_on(page) == len(WEB_IDS)

    # Type a query, see results.
    page.fill("#q", "物流")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=%E7%89%A9%E6%B5%81"))
    hits = total_on(page)
    assert hits > 2 and page.locator("li.result").count() == hits
    assert page.locator("p.snippet mark").first.inner_text() == "物流"
    w.shot("01-query")

    # Tick a region: the results and the counts change.
    level_before = {v: facet_count(page, "level", v) for v in ("central", "local")}
    region = "青海省"
    page.locator(f'fieldset[data-facet="region"] input[value="{region}"]').check()
    page.wait_for_url(re.compile("region="))
    assert params(page)["region"] == [region] and params(page)["q"] == ["物流"]
    narrowed = total_on(page)
    assert 0 < narrowed < hits
    for title in page.locator("li.result .meta").all_inner_texts():
        assert region in title
    assert facet_count(page, "level", "local") == narrowed
    assert facet_count(page, "level", "local") != level_before["local"]
    assert page.locator(f'fieldset[data-facet="region"] input[value="{region}"]').is_checked()
    w.shot("02-region-ticked")

    # The back button restores the previous state; forward again.
    page.go_back()
    page.wait_for_url(lambda url: "region=" not in url)
    assert total_on(page) == hits
    page.go_forward()
    page.wait_for_url(re.compile("region="))

    # Remove the chip.
    chip = page.locator("a.chip", has_text=region)
    assert chip.count() == 1
    chip.click()
    page.wait_for_url(lambda url: "region=" not in url)
    assert total_on(page) == hits and page.locator("a.chip").count() == 0
    w.shot("03-chip-removed")

    # Open a document: the query is highlighted and the first hit is one click away.
    first = page.locator("li.result h2 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/doc/"))
    assert page.locator("h1").inner_text() == title
    assert page.locator(".fulltext mark").count() > 0
    page.click("a.jump-hit")
    assert page.url.endswith("#first-hit")
    assert page.locator("#first-hit").inner_text() == "物流"
    page.evaluate("window.scrollTo(0, 0)")
    w.shot("04-document")

    # Download the CSV of the whole result set.
    page.go_back()
    page.go_back()
    page.wait_for_url(lambda url: "/doc/" not in url)
    with page.expect_download() as download_info:
        page.click("text=CSV（Excel）")
    raw = Path(download_info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == hits
    assert download_info.value.suggested_filename.endswith(".csv")
    w.shot("05-csv-downloaded")


def test_keyboard_only_search(watched):
    w = watched(viewport={"width": 1280, "height": 900})
    page = w.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator("a.skip-link").is_visible()
    # Focus order: skip link, brand, query box.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.type("冷链")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("q="))
    assert total_on(page) > 0
    w.shot("06-keyboard-results")
    # Tab on to the first result and open it with Enter.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('li.result') !== null"):
            break
    else:
        pytest.fail("Tab never reached a result")
    focused = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focused != "none"
    w.shot("07-keyboard-focus-on-result")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/doc/"))
    # "/" jumps back to the query box; a facet checkbox ticks with the space bar.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page = w.goto("/?q=物流")
    box = page.locator('fieldset[data-facet="level"] input[value="local"]')
    box.focus()
    page.keyboard.press("Space")
    page.wait_for_url(re.compile("level=local"))
    w.shot("08-keyboard-facet")


def test_works_without_javascript(watched):
    w = watched(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = w.goto("/?q=物流")
    hits = total_on(page)
    page.locator('fieldset[data-facet="region"] input[value="青海省"]').check()
    assert "region=" not in page.url  # nothing happens until the form is sent
    page.click("p.facet-apply button")
    page.wait_for_url(re.compile("region="))
    assert 0 < total_on(page) < hits
    # "更多" is a <details>: it opens without script.
    more = page.locator('fieldset[data-facet="body"] details.facet-more summary')
    if more.count():
        more.click()
        assert page.locator('fieldset[data-facet="body"] details.facet-more').get_attribute("open") is not None
    w.shot("09-no-javascript", full_page=True)


def test_phone_width(watched):
    w = watched(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True)
    for path, name in (("/?q=绿色低碳&region=广东省", "10-phone-results"), ("/doc/2021-12-c01?q=冷链", "11-phone-document"),
                       ("/help", "12-phone-help")):
        page = w.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        w.shot(name)
    page = w.goto("/?q=物流")
    page.click("a.jump-filters")
    assert page.url.endswith("#filters")
    assert page.locator("#filters").is_visible()


def test_enhancements_filter_box_and_copy_citation(watched):
    w = watched(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    page = w.goto("/")
    box = page.locator('fieldset[data-facet="body"] input.facet-filter')
    assert box.is_visible()
    box.fill("青海")
    visible = [t for t in page.locator('fieldset[data-facet="body"] li:visible .facet-name').all_inner_texts()]
    assert visible and all("青海" in t for t in visible)
    w.shot("13-facet-filter-box", element=page.locator('fieldset[data-facet="body"]'))

    page = w.goto("/doc/2021-12-l17")
    button = page.locator("button.copy-button")
    assert button.is_visible()
    button.click()
    page.wait_for_function("document.querySelector('.copy-status').textContent.length > 0")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#citation").input_value()
    assert copied.startswith("广东省人民政府. ")
    w.shot("14-citation-copied")


def test_histogram_bar_filters_by_month(watched, web_records):
    w = watched(viewport={"width": 1280, "height": 900})
    page = w.goto("/")
    bar = page.locator("figure.histogram a", has=page.locator("title", has_text="11月"))
    bar.click()
    page.wait_for_url(re.compile("date_from=2021-11-01"))
    november = sum(1 for r in web_records if (r.get("publish_date") or "").startswith("2021-11"))
    assert total_on(page) == november
    w.shot("15-histogram-month")


def no_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def tile_counts(page) -> dict[str, int]:
    counts = {}
    for tile in page.locator("svg.tile-map a.map-tile").all():
        texts = tile.locator("text").all_text_contents()
        counts[tile.get_attribute("data-region")] = int(texts[1])
    return counts


def test_region_map_click_narrows_and_back_returns(watched):
    w = watched(viewport={"width": 1280, "height": 900})
    page = w.goto("/?q=物流")
    hits = total_on(page)
    counts = tile_counts(page)
    assert counts and all(facet_count(page, "region", region) == n for region, n in counts.items())
    assert no_overflow(page) <= 0
    w.shot("16-map-desktop", element=page.locator("details.region-map"))
    region = max(counts, key=lambda r: (counts[r], r))
    page.locator(f'svg.tile-map a.map-tile[data-region="{region}"]').click()
    page.wait_for_url(re.compile("region="))
    assert params(page)["region"] == [region] and params(page)["q"] == ["物流"]
    assert total_on(page) == counts[region] < hits
    assert page.locator(f'fieldset[data-facet="region"] input[value="{region}"]').is_checked()
    w.shot("17-map-region-clicked")
    page.go_back()
    page.wait_for_url(lambda url: "region=" not in url)
    assert total_on(page) == hits and tile_counts(page) == counts


def test_region_map_without_javascript_and_at_phone_width(watched):
    w = watched(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = w.goto("/?q=物流")
    region = page.locator("svg.tile-map a.map-tile").first.get_attribute("data-region")
    page.locator(f'svg.tile-map a.map-tile[data-region="{region}"]').click()
    page.wait_for_url(re.compile("region="))
    assert params(page)["region"] == [region]
    phone = watched(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True)
    for path, name in (("/?q=物流", "18-phone-map"), ("/diffusion?cites=国办发〔2021〕19号", "19-phone-diffusion")):
        page = phone.goto(path)
        assert no_overflow(page) <= 0, path
        box = page.locator("svg.tile-map").first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, path
        phone.shot(name, full_page=True)


def test_diffusion_view_of_a_central_document(watched, web_records):
    w = watched(viewport={"width": 1280, "height": 900})
    # The provinces implementing 国办发〔2021〕19号 according to the records' citation links.
    implementing = {r["region"]: r["publish_date"] for r in web_records
                    if any(link.get("doc_number") == "国办发〔2021〕19号" for link in r.get("cites") or [])}
    assert len(implementing) >= 3
    page = w.goto("/doc/2021-12-l14")
    page.locator("section.lineage a", has_text="各省落实情况").first.click()
    page.wait_for_url(re.compile(r"/diffusion\?cites="))
    section = page.locator("section.diffusion")
    first = min(implementing.values())
    for region, day in implementing.items():
        lag = (date.fromisoformat(day) - date.fromisoformat(first)).days
        assert section.locator(f'tr[data-region="{region}"] td.lag').inner_text() == str(lag)
        assert f"{lag}天" in section.locator(f'svg.tile-map a.map-tile[data-region="{region}"]').text_content()
    assert section.locator("svg.timeline-chart circle").count() == len(implementing)
    assert "不在本语料中" in section.inner_text()
    assert no_overflow(page) <= 0
    w.shot("20-diffusion-desktop", full_page=True)
    # A province's tile lists its documents citing the parent.
    region = sorted(implementing)[0]
    section.locator(f'svg.tile-map a.map-tile[data-region="{region}"]').click()
    page.wait_for_url(re.compile("region="))
    assert total_on(page) == sum(1 for r in web_records if r.get("region") == region
                                 and any(link.get("doc_number") == "国办发〔2021〕19号" for link in r.get("cites") or []))
