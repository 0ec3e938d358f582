"""Web publication (webmeta.py): canonical and hreflang links, sitemap.xml and robots.txt from the
report's site_url, link previews (description, OpenGraph, preview images), printing a web page,
and the archive of earlier years. The starter report, built once without PDFs."""

import json
import shlex
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from lxml import etree
from lxml import html as lxml_html
from PIL import Image

from build_tools.project import TOOLCHAIN_ROOT
from support import keep_local, report_meta, run_cli, serve

SITE_URL = "https://esg.example.com/reports/"
HOSTILE = 'Fish & "chips" <script>alert(1)</script> </title><b>bold</b>'
ARCHIVE_YEAR = 2023
EXTERNAL_LINK = "https://www.hkex.com.hk/"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def set_report(report: Path, **changes) -> dict:
    path = report / "data" / "report.yml"
    data = yaml.safe_load(path.read_text("utf-8"))
    for key, value in changes.items():
        if key == "site_url":
            data["report"]["site_url"] = value
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return data


WORKFLOW = TOOLCHAIN_ROOT / ".github" / "workflows" / "report.yml"


def workflow_site_command() -> list[str]:
    """The arguments of the CI step that builds the site GitHub Pages gets."""
    jobs = yaml.safe_load(WORKFLOW.read_text("utf-8"))["jobs"]
    [command] = [step["run"] for step in jobs["site"]["steps"] if "esg-report build" in step.get("run", "")]
    program, *args = shlex.split(command)
    assert program.endswith("/esg-report") and "--edition" not in args
    return args


def test_workflow_deploys_the_site_job_output_to_pages_and_gives_pull_requests_an_artifact():
    workflow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    jobs = workflow["jobs"]
    uses = {step.get("uses", "").split("@")[0]: step for step in jobs["site"]["steps"]}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "site"
    assert "push" in uses["actions/upload-pages-artifact"]["if"]
    assert uses["actions/upload-artifact"]["with"]["path"] == "site" and "pull_request" in uses["actions/upload-artifact"]["if"]
    deploy = jobs["deploy"]
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert "site" in deploy["needs"] and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


@pytest.fixture(scope="module")
def published(starter_template, tmp_path_factory):
    """The starter with a site_url, an archived 2023 report and a hostile page description, built
    by the workflow's own site step (without the PDFs, which are not the point here)."""
    report = tmp_path_factory.mktemp("web") / "report"
    shutil.copytree(starter_template, report)
    editions = report_meta(report)["editions"]
    archive = {}
    for code in editions:
        pdf = report / "archive" / str(ARCHIVE_YEAR) / f"esg-{ARCHIVE_YEAR}-{code}.pdf"
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(b"%PDF-1.4 archived " + code.encode())
        archive[code] = pdf.relative_to(report).as_posix()
    earlier_site = report / "archive" / str(ARCHIVE_YEAR - 1) / "site"
    earlier_site.mkdir(parents=True)
    (earlier_site / "index.html").write_text(f"<!DOCTYPE html><title>{ARCHIVE_YEAR - 1}</title>", "utf-8")
    set_report(report, site_url=SITE_URL, archive=[{"year": ARCHIVE_YEAR, "pdf": archive},
                                                   {"year": ARCHIVE_YEAR - 1, "site": earlier_site.relative_to(report).as_posix()}])
    for code in editions:
        page = report / "content" / code / "about-this-report.md"
        text = page.read_text("utf-8")
        field = f"description: {json.dumps(HOSTILE)}\n"  # a JSON string is a YAML string
        page.write_text(f"---\n{field}{text[4:]}" if text.startswith("---\n") else f"---\n{field}---\n{text}", "utf-8")
        with page.open("a", encoding="utf-8") as chapter:
            chapter.write(f"\n[HKEX]({EXTERNAL_LINK})\n")
    assert run_cli("translations", str(report), "--mark", "about-this-report.md")[0] == 0  # a translated change
    code, out, err = run_cli(*workflow_site_command(), str(report), "--no-pdf")
    assert code == 0, out + err
    return report, report / "site", editions, out


def site_pages(output: Path, edition: str) -> list[str]:
    """Every page's URL in an edition's folder (relative to the edition), from the files written."""
    root = output / edition
    return sorted("" if p.parent == root else p.parent.relative_to(root).as_posix() + "/"
                  for p in root.rglob("index.html") if "search" not in p.relative_to(root).parts)


def head(path: Path):
    return lxml_html.fromstring(path.read_bytes())


def test_every_page_has_its_canonical_url_and_the_alternates(published):
    _, output, editions, _ = published
    pages = site_pages(output, editions[0])
    assert len(pages) > 3 and pages == site_pages(output, editions[1])
    for code in editions:
        for url in pages:
            doc = head(output / code / url / "index.html")
            assert doc.xpath("//link[@rel='canonical']/@href") == [f"{SITE_URL}{code}/{url}"], (code, url)
            alternates = {link.get("hreflang"): link.get("href") for link in doc.xpath("//head/link[@rel='alternate']")}
            expected = {other: f"{SITE_URL}{other}/{url}" for other in editions}
            expected["x-default"] = f"{SITE_URL}{editions[0]}/{url}"
            assert alternates == expected, (code, url)


def test_the_root_page_points_to_each_edition(published):
    _, output, editions, _ = published
    alternates = {link.get("hreflang"): link.get("href") for link in head(output / "index.html").xpath("//link[@rel='alternate']")}
    assert alternates == {**{code: f"{SITE_URL}{code}/" for code in editions}, "x-default": f"{SITE_URL}{editions[0]}/"}


def test_sitemap_lists_every_page_of_every_edition_with_alternates(published):
    _, output, editions, _ = published
    tree = etree.parse(str(output / "sitemap.xml"))
    entries = {url.findtext(f"{SITEMAP}loc"): {link.get("hreflang"): link.get("href") for link in url.iter(f"{XHTML}link")}
               for url in tree.getroot().iter(f"{SITEMAP}url")}
    pages = site_pages(output, editions[0])
    assert set(entries) == {f"{SITE_URL}{code}/{url}" for code in editions for url in pages}
    for loc, alternates in entries.items():
        url = loc.split("/", 5)[-1].split("/", 1)[-1] if loc.count("/") > 5 else ""
        assert set(alternates) == {*editions, "x-default"}
        assert all(href.startswith(SITE_URL) and href.endswith(url) for href in alternates.values())
    robots = (output / "robots.txt").read_text("utf-8")
    assert f"Sitemap: {SITE_URL}sitemap.xml" in robots.splitlines()


def test_link_previews_in_each_language_with_a_preview_image(published):
    report, output, editions, _ = published
    meta = report_meta(report)
    for code in editions:
        doc = head(output / code / "index.html")
        og = {m.get("property"): m.get("content") for m in doc.xpath("//meta[@property]")}
        assert og["og:title"] and og["og:description"]
        assert doc.findtext(".//title").startswith(og["og:title"])  # the page's title, as text
        assert og["og:site_name"] == meta["report"]["title"][code]
        assert og["og:locale"].split("_")[0] == code.split("-")[0]
        assert og["og:url"] == f"{SITE_URL}{code}/"
        assert doc.xpath("//meta[@name='twitter:card']/@content") == ["summary_large_image"]
        image = output / code / og["og:image"].removeprefix(f"{SITE_URL}{code}/")
        with Image.open(image) as picture:
            assert picture.size == (1200, 630) and picture.format == "PNG"
    # each edition describes its pages in its own language: the Chinese home page's description is Chinese
    chinese = head(output / editions[1] / "index.html").xpath("//meta[@property='og:description']/@content")[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


def test_hostile_description_stays_text(published):
    _, output, editions, _ = published
    path = output / editions[0] / "about-this-report" / "index.html"
    doc = head(path)
    assert doc.xpath("//meta[@name='description']/@content") == [HOSTILE]
    assert doc.xpath("//meta[@property='og:description']/@content") == [HOSTILE]
    assert "<script>alert(1)" not in path.read_text("utf-8")


def test_hostile_site_url_is_a_located_error(starter):
    set_report(starter, site_url='https://x.example/"><script>alert(1)</script>')
    code, out, err = run_cli("check", str(starter))
    assert code == 1
    assert "report.yml" in out + err and "site_url" in out + err


def test_without_site_url_the_build_says_once_what_is_skipped(starter):
    code, out, err = run_cli("build", str(starter), "--no-pdf", "--strict")
    assert code == 0, out + err
    assert (out + err).count("no site_url") == 1
    site = starter / "site"
    assert not (site / "sitemap.xml").exists() and not (site / "robots.txt").exists()
    doc = head(site / report_meta(starter)["editions"][0] / "index.html")
    assert doc.xpath("//link[@rel='canonical']") == [] and doc.xpath("//head/link[@hreflang]") == []
    assert doc.xpath("//meta[@property='og:title']/@content")


def test_the_assembled_site_has_the_root_page_both_editions_and_404(published):
    _, output, editions, _ = published
    for path in ["index.html", "404.html", *(f"{code}/index.html" for code in editions),
                 *(f"{code}/404.html" for code in editions)]:
        assert (output / path).is_file(), path


def test_the_404_page_links_from_the_site_url_path(published):
    _, output, editions, _ = published
    doc = head(output / "404.html")
    path = urlsplit(SITE_URL).path
    assets = doc.xpath("//link[@rel='stylesheet']/@href") + doc.xpath("//script/@src")
    assert assets and all(url.startswith(f"{path}{editions[0]}/") for url in assets), assets
    switcher = {a.get("hreflang"): urljoin(SITE_URL, a.get("href")) for a in doc.xpath("//a[contains(@class, 'report-alternate')]")}
    assert switcher == {code: f"{SITE_URL}{code}/" for code in editions}


def test_archive_listed_on_every_home_page_and_its_links_resolve(published):
    _, output, editions, _ = published
    for home in [output / "index.html", *(output / code / "index.html" for code in editions)]:
        links = {a.get("href"): a.getparent().text_content() for a in head(home).xpath("//section[@class='report-archive']//a")}
        base = f"http://host/{home.parent.relative_to(output).as_posix()}/".replace("/./", "/")
        targets = {urlsplit(urljoin(base, href)).path.lstrip("/"): text for href, text in links.items()}
        pdfs = [t for t in targets if t.endswith(".pdf")]
        assert len(pdfs) == 1 and pdfs[0].startswith(f"{ARCHIVE_YEAR}/") and str(ARCHIVE_YEAR) in targets[pdfs[0]], home
        assert (output / pdfs[0]).read_bytes().startswith(b"%PDF"), pdfs[0]
        assert f"{ARCHIVE_YEAR - 1}/" in targets and (output / str(ARCHIVE_YEAR - 1) / "index.html").is_file(), home
    # each edition's home page links its own edition's PDF of that year
    for code in editions:
        hrefs = head(output / code / "index.html").xpath("//section[@class='report-archive']//a[@type='application/pdf']/@href")
        assert hrefs == [f"../{ARCHIVE_YEAR}/esg-{ARCHIVE_YEAR}-{code}.pdf"]


def test_an_archive_path_out_of_the_archive_folder_is_a_located_error(starter):
    (starter / "secret.pdf").write_bytes(b"%PDF not to publish")
    set_report(starter, archive=[{"year": ARCHIVE_YEAR, "pdf": {report_meta(starter)["editions"][0]: "archive/../secret.pdf"}}])
    code, out, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 1
    assert "report.yml:" in out + err and "archive/../secret.pdf" in out + err
    assert not (starter / "site").exists()


# --- in Chromium: printing a page; search and the language switch with a site_url -------------

@pytest.fixture(scope="module")
def browser_page(published):
    """A page of the published site served on localhost; requests elsewhere are refused and kept."""
    from playwright.sync_api import sync_playwright
    from test_site_browser import CHROMIUM, CHROMIUM_ARGS

    _, output, _, _ = published
    with serve(output) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        outside = keep_local(page)
        yield page, base, outside
        browser.close()


@pytest.mark.browser
def test_printing_a_page_shows_no_navigation(browser_page, published):
    page, base, outside = browser_page
    editions = published[2]
    chrome = ("header.md-header", ".md-sidebar--primary", "footer.md-footer", ".report-downloads", ".md-search")
    page.emulate_media(media="screen")
    page.goto(f"{base}/{editions[0]}/about-this-report/")
    assert all(page.locator(selector).first.is_visible() for selector in chrome[:4])
    page.emulate_media(media="print")
    assert [s for s in chrome if page.locator(s).first.is_visible()] == []
    assert page.locator("article h1").first.is_visible()
    shown = page.locator(f"article a[href='{EXTERNAL_LINK}']").evaluate("a => getComputedStyle(a, '::after').content")
    assert EXTERNAL_LINK in shown  # a link to another site shows its address on paper
    assert page.screenshot(full_page=True)[:8] == b"\x89PNG\r\n\x1a\n"
    page.emulate_media(media="screen")
    assert outside == []


@pytest.mark.browser
def test_search_and_language_switch_work_with_a_site_url(browser_page, published):
    from test_site_browser import search

    page, base, outside = browser_page
    report, _, editions, _ = published
    page.goto(f"{base}/{editions[0]}/")
    hits = search(page, "reporting")
    assert hits and all(f"/{editions[0]}/" in hit for hit in hits), hits
    page.goto(f"{base}/{editions[0]}/about-this-report/#about-this-report")
    page.locator(".md-header__option .md-select").hover()
    page.locator(f"a.report-alternate[hreflang='{editions[1]}']").click()
    page.wait_for_url(f"{base}/{editions[1]}/about-this-report/#about-this-report")
    # the alternates are in the page as loaded (they are hidden from the theme's script while it starts)
    assert page.locator("head link[rel=alternate][hreflang]").count() == len(editions) + 1
    assert outside == []  # no request for a sitemap.xml next to each alternate


def test_a_site_url_in_mkdocs_yml_points_to_the_report_data(starter):
    with (starter / "mkdocs.yml").open("a", encoding="utf-8") as config:
        config.write("\nsite_url: https://esg.example.com/\n")
    code, out, err = run_cli("check", str(starter))
    assert code == 0, out + err
    assert "mkdocs.yml: warning: site_url in mkdocs.yml" in out and "data/report.yml" in out
