"""Hostile text in every field of the data reaches the reader as text: never as markup in the
site (checked in Chromium's DOM), shown literally in the PDF."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from build_tools.pipeline import build_report
from build_tools.project import Project
from support import pdf_text, serve, squash
from test_site_browser import CHROMIUM, CHROMIUM_ARGS

# Markup that would run or add elements if any field were inserted raw, plus the characters
# Markdown and money patterns interpret ('*', '_', '|', '{', '$', '&').
PAYLOAD = """<img src=x onerror="window.PWNED=1"><script>window.PWNED=2</script>"'&*_|{{ 7*7 }}$"""


def _poison(value, payload=PAYLOAD):
    """Every text of a bilingual mapping or plain string, with the payload added."""
    if isinstance(value, dict):
        return {k: _poison(v, payload) for k, v in value.items()}
    if isinstance(value, str):
        return f"{value} {payload}"
    return value


@pytest.fixture(scope="module")
def hostile_build(starter_template, tmp_path_factory):
    report = tmp_path_factory.mktemp("hostile") / "report"
    shutil.copytree(starter_template, report)
    meta_file = report / "data" / "report.yml"
    meta = yaml.safe_load(meta_file.read_text("utf-8"))
    for field in ("name", "short_name"):
        meta["company"][field] = _poison(meta["company"][field])
    meta["company"]["incorporation"] = _poison({"en": "Incorporated", "zh-Hant": "註冊成立"})
    meta["company"]["stock_codes"] = [{"exchange": f"HKEX {PAYLOAD}", "code": f"0001 {PAYLOAD}"}]
    for field in ("title", "short_title"):
        meta["report"][field] = _poison(meta["report"].get(field) or meta["report"]["title"])
    for style in meta["report"]["money"].values():
        style["pattern"] = "HK${amount} & 'more'"
    meta_file.write_text(yaml.safe_dump(meta, allow_unicode=True), "utf-8")
    kpi_file = next((report / "data" / "kpis").glob("*.yml"))
    kpis = yaml.safe_load(kpi_file.read_text("utf-8"))
    kpis["title"] = _poison(kpis["title"])
    for kpi in kpis["kpis"]:
        kpi["name"] = _poison(kpi["name"])
    first = kpis["kpis"][0]
    year = max(first["values"])
    value = first["values"][year]
    first["values"][year] = {"value": value["value"] if isinstance(value, dict) else value,
                             "note": _poison({"en": "Note", "zh-Hant": "附註"})}
    kpi_file.write_text(yaml.safe_dump(kpis, allow_unicode=True), "utf-8")
    # A unit of the report's own, and an explanation shown in the content index.
    (report / "data" / "units.yml").write_text(yaml.safe_dump(
        {"hostile_units": {"label": _poison({"en": "units", "zh-Hant": "個"}), "singular": {"en": f"unit {PAYLOAD}"}}},
        allow_unicode=True), "utf-8")
    kpis = yaml.safe_load(kpi_file.read_text("utf-8"))
    kpis["kpis"][0]["unit"] = "hostile_units"
    kpi_file.write_text(yaml.safe_dump(kpis, allow_unicode=True), "utf-8")
    for chapter in (report / "content").rglob("social.md"):  # B4.2 is then explained, not disclosed
        chapter.write_text(chapter.read_text("utf-8").replace(" B4.2", ""), "utf-8")
    (report / "data" / "disclosures.yml").write_text(yaml.safe_dump(
        {"explanations": {"B4.2": _poison({"en": "Not relevant", "zh-Hant": "不適用"})}}, allow_unicode=True), "utf-8")
    output = report / "site"
    results, problems = build_report(Project.at(report), output=output)
    assert not problems.errors, "\n".join(d.format() for d in problems.items)
    return output, {r.edition: Path(r.pdf) for r in results}, meta


@pytest.fixture(scope="module")
def hostile_server(hostile_build):
    output, _, _ = hostile_build
    with serve(output) as base:
        yield base


@pytest.mark.browser
def test_no_field_adds_an_element_or_runs_a_script_in_any_page(hostile_build, hostile_server):
    from playwright.sync_api import sync_playwright

    output, _, _ = hostile_build
    pages = ["", "404.html"] + [str(p.relative_to(output)) for p in sorted(output.rglob("*.html"))
                                 if "assets" not in p.parts and "search" not in p.parts]
    injected = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()

        def only_local_and_no_redirect(route):
            if "127.0.0.1" not in route.request.url:
                return route.abort()
            response = route.fetch()
            body = response.text() if "html" in response.headers.get("content-type", "") else None
            if body is not None and 'http-equiv="refresh"' in body:
                # The root page's refresh would leave the page before it is inspected: drop it.
                body = re.sub(r'<meta http-equiv="refresh"[^>]*>', "", body)
                return route.fulfill(response=response, body=body)
            return route.fulfill(response=response)

        page.route("**/*", only_local_and_no_redirect)
        shown_literally = 0
        for path in pages:
            page.goto(f"{hostile_server}/{path}", wait_until="load")
            found = page.evaluate("""() => ({
                ran: window.PWNED || null,
                images: document.querySelectorAll('img[src="x"], img[onerror]').length,
                scripts: [...document.scripts].filter(s => s.textContent.includes('PWNED')).length,
                handlers: [...document.querySelectorAll('*')].filter(e => e.getAttribute('onerror')).length,
                literal: document.body ? document.body.innerText.includes('<img src=x onerror="window.PWNED=1">') : false,
            })""")
            shown_literally += found.pop("literal")
            if any(found.values()):
                injected[path] = found
        browser.close()
    assert injected == {}
    assert shown_literally >= len(pages) // 2  # the payload is on the pages, as text


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_the_pdf_shows_the_payload_as_text(hostile_build, edition):
    _, pdfs, meta = hostile_build
    text = squash(pdf_text(pdfs[edition]))
    assert squash(f"{meta['company']['name'][edition]}") in text  # cover, with the payload
    assert squash("HK$") in text and "&#36;" not in text and "&amp;" not in text


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_the_explanation_and_the_unit_reach_the_pdf_as_text(hostile_build, edition):
    _, pdfs, _ = hostile_build
    text = squash(pdf_text(pdfs[edition]))
    explanation = {"en": "Not relevant", "zh-Hant": "不適用"}[edition]
    assert squash(f"{explanation} {PAYLOAD}") in text  # the content index, literally


def test_money_pattern_symbols_are_shown_once_in_the_site(hostile_build):
    output, _, _ = hostile_build
    appendix = "".join(p.read_text("utf-8") for p in (output / "en").rglob("index.html"))
    assert "HK$ &amp; &#39;more&#39;" in appendix or "HK&#36; &amp; &#39;more&#39;" in appendix
    assert "&amp;#36;" not in appendix and "&amp;amp;" not in appendix
