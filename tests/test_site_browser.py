"""The websites in a real browser: Debian's Chromium driven by Playwright, site served on localhost."""

import json
from pathlib import Path

import pytest

from build_tools.project import TOOLCHAIN_ROOT
from support import keep_local, report_meta, serve

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(sample_build):
    output, _, _ = sample_build
    with serve(output) as base:
        yield base, output


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make test` (scripts/setup.sh test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A page whose requests may only go to the local server; anything else fails the test."""
    base, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside = keep_local(page)
    yield page
    context.close()
    assert not outside, f"requests left localhost: {outside}"


def test_home_page_in_each_edition(page, server):
    base, _ = server
    company = report_meta(TOOLCHAIN_ROOT)["company"]["name"]
    for edition in ("en", "zh-Hant"):
        page.goto(f"{base}/{edition}/")
        assert page.locator("html").get_attribute("lang") == edition
        assert company[edition] in page.locator("body").inner_text()


def test_root_sends_readers_to_an_edition(page, server):
    base, _ = server
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/en/")


def test_language_switch_keeps_page_and_section(page, server):
    base, _ = server
    page.goto(f"{base}/en/3-quality/supply-chain-management/#sustainable-supply-chain")
    page.locator(".md-header__option .md-select").hover()
    page.locator("a.report-alternate[hreflang='zh-Hant']").click()
    page.wait_for_url(f"{base}/zh-Hant/3-quality/supply-chain-management/#sustainable-supply-chain")
    heading = page.locator("#sustainable-supply-chain")
    assert "3.3.2" in heading.inner_text()
    assert heading.is_visible()


def search(page, term: str) -> list[str]:
    box = page.locator("input.md-search__input")
    box.click()
    # Material ignores input typed before its search worker has built the index (the Chinese
    # index takes a few seconds): type again until results show.
    box.fill(term)
    results = page.locator(".md-search-result__item")
    for _ in range(20):
        page.wait_for_timeout(500)
        if results.count():
            break
        box.press("End")  # nudge: a space typed and removed makes it search again
        box.type(" ")
        box.press("Backspace")
    return page.locator(".md-search-result__item a").evaluate_all("links => links.map(a => a.href)")


@pytest.mark.parametrize("edition, term, expected", [
    ("en", "suppliers", "/en/3-quality/supply-chain-management/"),
    ("zh-Hant", "供應商", "/zh-Hant/3-quality/supply-chain-management/"),
])
def test_search_finds_pages_of_its_own_edition(page, server, edition, term, expected):
    base, _ = server
    page.goto(f"{base}/{edition}/")
    hits = search(page, term)
    assert any(expected in hit for hit in hits), hits
    assert all(f"/{edition}/" in hit for hit in hits), hits


def test_index_link_lands_on_the_tagged_heading(page, server):
    base, output = server
    page.goto(f"{base}/en/appendix-2-content-index/")
    link = page.locator("tr[data-code='B5.3'] .provision-locations a").first
    link.click()
    page.wait_for_url("**/3-quality/supply-chain-management/#sustainable-supply-chain")
    heading = page.locator("#sustainable-supply-chain")
    assert heading.get_attribute("data-disclose") == "B5.3"
    assert heading.is_visible()


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_downloads_on_every_page(page, server, edition):
    base, _ = server
    page.goto(f"{base}/{edition}/1-governance/business-ethics/")
    pdf = page.locator("a.report-download--pdf").get_attribute("href")
    response = page.request.get(page.url + pdf if not pdf.startswith("/") else base + pdf)
    assert response.status == 200 and response.body().startswith(b"%PDF")
    csv_link = page.locator("a.report-download", has_text="CSV").first.get_attribute("href")
    response = page.request.get(page.url + csv_link)
    assert response.status == 200
    assert response.body().startswith(b"kpi,name,year,value,unit")  # the KPI dataset's header


def test_kpi_table_fits_a_phone(browser, server):
    base, _ = server
    context = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{base}/zh-Hant/appendix-1-kpis/")
    overflow = page.evaluate("""() => {
        const bad = [];
        for (const cell of document.querySelectorAll('table.kpi-table td, table.kpi-table th')) {
            if (cell.scrollWidth > cell.clientWidth + 1) bad.push(cell.textContent.trim());
        }
        for (const wrap of document.querySelectorAll('.kpi-table-wrap')) {
            if (wrap.getBoundingClientRect().right > window.innerWidth + 1) bad.push('wrapper wider than the screen');
        }
        return bad;
    }""")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert not overflow
    assert page_width <= 375


def all_pages(output: Path, edition: str) -> list[str]:
    return sorted(str(p.parent.relative_to(output / edition)).replace(".", "") for p in (output / edition).rglob("index.html")
                  if "assets" not in p.parts and "search" not in p.parts)


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_no_serious_accessibility_violations(page, server, edition):
    from axe_playwright_python.sync_playwright import Axe

    base, output = server
    axe = Axe()
    problems = {}
    for path in all_pages(output, edition):
        page.goto(f"{base}/{edition}/{path}/".replace("//", "/").replace("http:/", "http://"))
        results = axe.run(page)
        serious = [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            problems[path] = serious
    assert not problems, json.dumps(problems, indent=1)
