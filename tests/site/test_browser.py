"""The built report site in a real browser: Playwright driving Debian's Chromium, the site served on localhost.

The site is `history_site` (tests/site/conftest.py): the template's outputs with two registered versions and
a column, a category, a metric and a gate reason named `<img src=x onerror=alert(1)>`. Every request that is
not for localhost is blocked and recorded; console errors, page errors and dialogs (what `alert` opens) are
recorded too. Screenshots of each page in both palettes go to tests/artifacts/screenshots/ (git-ignored).
Chromium is required: without it these tests fail (`make test` installs it), they never skip.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

from pipeline.metrics_format import headline
from tests.conftest import ROOT
from tests.site.conftest import HOSTILE

pytestmark = pytest.mark.browser

PAGES = {
    "home": "",
    "model-card": "model-card/",
    "drift": "drift/",
    "data-quality": "data-quality/",
    "history": "history/",
    "monitoring": "monitoring/",
}  # the pages that show the project's data, so the injected name too
WRITTEN = {"maturity": "maturity/"}  # hand-written pages: no data shown, so no injected name to look for
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
        pass


@contextlib.contextmanager
def served(directory):
    """A built site over HTTP on a free localhost port, in a thread; yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        thread.join()


@contextlib.contextmanager
def browser_session():
    """Debian's Chromium driven by Playwright (a failure, never a skip, when it is missing)."""
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(history_site):
    with served(history_site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with browser_session() as session:
        yield session


class Watched:
    """A browser page whose outside requests, console errors, page errors and dialogs are recorded."""

    def __init__(self, browser, color_scheme: str = "light"):
        self.context = browser.new_context(color_scheme=color_scheme, viewport={"width": 1280, "height": 900})
        self.outside, self.errors, self.dialogs = [], [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _route(self, route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        return self.page


@pytest.fixture
def watched(browser):
    watched = Watched(browser)
    yield watched
    watched.context.close()


def scheme_colours(page) -> tuple[str, str]:
    """The palette scheme Material applied, and the page's background colour."""
    return page.evaluate("""() => [document.body.getAttribute('data-md-color-scheme'),
                                   getComputedStyle(document.body).backgroundColor]""")


def brightness(rgb: str) -> float:
    red, green, blue = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return (0.299 * red + 0.587 * green + 0.114 * blue) / 255


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES | WRITTEN)
def test_every_page_loads_cleanly_offline_in_both_palettes(browser, server, name, color_scheme):
    watched = Watched(browser, color_scheme)
    try:
        page = watched.open(server + (PAGES | WRITTEN)[name])
        page.wait_for_timeout(300)  # let the page's scripts (search worker, table sorter) start
        scheme, background = scheme_colours(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}-{color_scheme}.png", full_page=True)
        assert page.locator("article h1").count() == 1
        assert (watched.errors, watched.outside, watched.dialogs) == ([], [], [])
        if color_scheme == "dark":
            assert scheme == "slate" and brightness(background) < 0.3, background
        else:
            assert scheme == "default" and brightness(background) > 0.7, background
    finally:
        watched.context.close()


def test_the_palette_toggle_switches_between_light_and_dark(watched, server):
    page = watched.open(server)
    page.locator("label[title='Dark mode']:visible").click()
    assert scheme_colours(page)[0] == "slate"
    page.locator("label[title='Light mode']:visible").click()
    assert scheme_colours(page)[0] == "default"


def test_the_outside_request_guard_catches_an_outside_request(watched, server):
    """The guard of the other tests is real: a request to another host is seen and blocked."""
    page = watched.open(server)
    page.evaluate("fetch('https://example.com/track.gif').catch(() => null)")
    page.wait_for_timeout(200)
    assert watched.outside == ["https://example.com/track.gif"]


@pytest.mark.parametrize("name", ["model-card", "drift", "history", "monitoring"])
def test_each_figure_loads_and_has_alt_text(watched, server, name):
    page = watched.open(server + PAGES[name])
    figures = page.locator("article img")
    assert figures.count() > 0
    for i in range(figures.count()):
        figure = figures.nth(i)
        assert figure.evaluate("img => img.complete && img.naturalWidth > 0"), figure.get_attribute("src")
        assert figure.get_attribute("alt")


def test_navigation_reaches_every_page(watched, server):
    page = watched.open(server)
    for title, heading in [
        ("Model card", "Model card"),
        ("Drift", "Drift"),
        ("Data quality", "Data quality"),
        ("Metrics history", "Metrics history"),
        ("Maturity", "Maturity"),
        ("Home", "Model report"),
    ]:
        page.locator("nav.md-nav--primary").get_by_role("link", name=title, exact=True).first.click()
        page.wait_for_load_state("load")
        assert page.locator("article h1").inner_text() == heading
    assert watched.errors == []


def test_search_finds_a_page_and_opens_it(watched, server):
    page = watched.open(server)
    page.keyboard.press("/")
    page.locator("input.md-search__input").press_sequentially("wasserstein")
    result = page.locator(".md-search-result__item a").first
    result.wait_for(timeout=10_000)
    result.click()
    page.wait_for_load_state("load")
    assert page.url.startswith(server + "drift/")
    assert watched.errors == []


def home_table(page) -> dict[str, tuple[str, str]]:
    """The rows of Home's metrics table: metric -> (model, baseline) as shown."""
    table = page.locator("article table").first
    rows = table.locator("tbody tr").all()
    return {cells[0]: (cells[1], cells[2]) for cells in (row.locator("td").all_inner_texts() for row in rows)}


def shown(x: dict | None) -> str:
    """How the report writes one metric: value, and its interval in parentheses when there is one."""
    if x is None or x["value"] is None:
        return "–"
    return f"{x['value']:.3f}" + (f" ({x['low']:.3f}–{x['high']:.3f})" if x["low"] is not None else "")


def test_home_numbers_equal_the_metrics_file(watched, server, history_repo):
    evaluate = json.loads((history_repo / "outputs/metrics/evaluate.json").read_text())
    metrics = headline(evaluate, "evaluate.json")
    expected = {name: (shown(x), shown(metrics["baseline"].get(name))) for name, x in metrics["model"].items()}
    page = watched.open(server)
    assert home_table(page) == expected
    live = page.locator("article", has_text="The live model").inner_text()
    assert f"roc_auc {shown(metrics['model']['roc_auc'])}" in live and "model@v1.1.0" in live


@pytest.mark.parametrize("name", PAGES)
def test_an_injected_name_is_text_and_runs_no_script(watched, server, name):
    page = watched.open(server + PAGES[name])
    page.wait_for_timeout(300)
    assert page.locator("img[src='x']").count() == 0
    assert page.get_by_text(HOSTILE).count() > 0
    assert watched.dialogs == [] and watched.errors == []


def column(page, index: int) -> list[str]:
    return page.locator(f"article table >> nth=0 >> tbody tr td:nth-child({index})").all_inner_texts()


def test_drift_table_sorts_numbers_by_value_both_ways(watched, server):
    page = watched.open(server + PAGES["drift"])
    header = page.locator("article table").first.locator("th", has_text="adjusted p-value")
    header.click()
    values = [float("-inf") if v == "–" else float(v) for v in column(page, 4)]
    assert values == sorted(values) and len(set(values)) > 2
    header.click()
    assert [float("-inf") if v == "–" else float(v) for v in column(page, 4)] == sorted(values, reverse=True)
