"""PNGs of chosen PDF pages and site pages, for visual review, into site-review/.

Run with the project's virtual environment (``make screenshots``):

1. Builds both editions first (``esg-report build``) if site/ is missing, lacks a PDF, or is older
   than content/ or data/.
2. For each edition's PDF in site/<edition>/*.pdf, renders with poppler (``pdftoppm -png -r 80``)
   the cover, the contents page, the first Appendix I (KPI table) page, the page with the
   "Suppliers by region" chart and the first Appendix II (content index) page, found with
   ``pdftotext -f N -l N``: pdf-en-01-cover.png, pdf-en-02-contents.png, ...
3. Serves site/ on 127.0.0.1 (a free port) and takes full-page screenshots of the home, KPI and
   content-index pages of both editions at desktop and phone widths with Playwright driving
   Debian's Chromium (never a downloaded browser): site-en-desktop-home.png, ...
4. Prints the files written. Exits 1 with a message if a PDF, poppler or Chromium is missing.
"""

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SITE, OUT = ROOT / "site", ROOT / "site-review"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Per edition: text that marks the KPI appendix, the chart page and the content index in the PDF.
# "Appendix I" must not match "Appendix II".
MARKERS = {
    "en": {"opener": r"1 Corporate Governance and Solid", "figure": r"Figure 1 Corporate Governance Structure",
           "kpis": r"Appendix I(?!I)", "chart": r"Suppliers by region", "index": r"Appendix II"},
    "zh-Hant": {"opener": r"1 企業管治，鞏固", "figure": r"圖1 亞盛醫藥企業管治架構",
                "kpis": r"附錄一", "chart": r"按地區劃分的供應商", "index": r"附錄二"},
}
PDF_PAGES = [("cover", None), ("contents", None), ("opener", "opener"), ("figure", "figure"), ("kpis", "kpis"),
             ("chart", "chart"), ("index", "index")]
SITE_PAGES = {"home": "", "figure": "1-governance/corporate-governance/", "kpis": "appendix-1-kpis/",
              "index": "appendix-2-content-index/"}
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
}


def fail(message: str) -> None:
    sys.exit(f"screenshots: {message}")


def newest_mtime(*folders: Path) -> float:
    return max((p.stat().st_mtime for folder in folders for p in folder.rglob("*") if p.is_file()), default=0.0)


def pdfs() -> dict[str, Path]:
    return {edition: next((SITE / edition).glob("*.pdf"), None) for edition in MARKERS}


def build_if_needed() -> dict[str, Path]:
    found = pdfs()
    outputs = [SITE / "index.html", *found.values()]
    if all(p and p.exists() for p in outputs) and \
            min(p.stat().st_mtime for p in outputs) >= newest_mtime(ROOT / "content", ROOT / "data"):
        return found
    print("screenshots: site/ is missing, incomplete or older than content/ and data/: building", flush=True)
    cli = Path(sys.executable).with_name("esg-report")
    if subprocess.run([str(cli), "build"], cwd=ROOT).returncode != 0:
        fail("`esg-report build` failed")
    found = pdfs()
    for edition, pdf in found.items():
        if pdf is None:
            fail(f"no PDF in site/{edition}/ after the build (expected site/{edition}/*.pdf)")
    return found


def page_text(pdf: Path, number: int) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", str(number), "-l", str(number), str(pdf), "-"],
                          check=True, capture_output=True, text=True).stdout


def render_pdf(edition: str, pdf: Path) -> list[Path]:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    wanted = {"cover": 1, "contents": 2}
    for number in range(3, count + 1):  # after the contents page, which lists every title
        text = page_text(pdf, number)
        for key, pattern in MARKERS[edition].items():
            if key not in wanted and re.search(pattern, text):
                wanted[key] = number
        if len(wanted) == len(PDF_PAGES):
            break
    written = []
    for position, (name, _) in enumerate(PDF_PAGES, start=1):
        if name not in wanted:
            print(f"screenshots: warning: no {name} page found in {pdf.relative_to(ROOT)}", file=sys.stderr)
            continue
        stem = OUT / f"pdf-{edition}-{position:02d}-{name}"
        number = str(wanted[name])
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", number, "-l", number, "-singlefile", str(pdf), str(stem)],
                       check=True)
        written.append(stem.with_suffix(".png"))
    return written


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def shoot_site() -> list[Path]:
    from playwright.sync_api import sync_playwright

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SITE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for device, options in DEVICES.items():
                context = browser.new_context(**options)
                # The site must fetch nothing from other hosts; block anything that tries.
                context.route("**/*", lambda route: route.continue_()
                              if urlsplit(route.request.url).hostname == "127.0.0.1" else route.abort())
                page = context.new_page()
                for edition in MARKERS:
                    for name, path in SITE_PAGES.items():
                        page.goto(f"{base}/{edition}/{path}", wait_until="networkidle")
                        page.evaluate("document.fonts.ready")
                        target = OUT / f"site-{edition}-{device}-{name}.png"
                        page.screenshot(path=str(target), full_page=True)
                        written.append(target)
                context.close()
            browser.close()
    finally:
        httpd.shutdown()
    return written


def main() -> None:
    for tool in ("pdftoppm", "pdftotext", "pdfinfo"):
        if shutil.which(tool) is None:
            fail(f"poppler's {tool} is missing: run `make screenshots` (scripts/setup.sh test installs poppler-utils)")
    if not Path(CHROMIUM).exists():
        fail(f"Debian's Chromium is missing at {CHROMIUM}: run `make screenshots` (scripts/setup.sh test installs it)")
    found = build_if_needed()
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    written = [png for edition, pdf in found.items() for png in render_pdf(edition, pdf)]
    written += shoot_site()
    print(f"screenshots: {len(written)} files written:")
    for png in written:
        print(f"  {png.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
