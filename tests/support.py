"""Helpers for tests: run the CLI, read PDFs back with poppler and pypdf."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import os
import threading
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from lxml import etree
from pypdf import PdfReader

from build_tools.cli import main


def tree_hash(root: Path, skip: Path | None = None) -> str:
    """Names, modes, link targets and contents of everything under ``root`` (except ``skip``):
    a sentinel tree hashed before and after a command shows it touched nothing."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        info = path.lstat()
        digest.update(f"{path.relative_to(root)}|{info.st_mode:o}".encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """A built site served on localhost for the browser tests; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def keep_local(page) -> list[str]:
    """Requests of ``page`` may only go to localhost: any other is refused and listed in the
    returned list (the site must work offline and load nothing from other hosts)."""
    outside: list[str] = []

    def guard(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return outside


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def report_meta(report: Path) -> dict:
    """data/report.yml of a report, read directly: a test's expected values come from its input."""
    return yaml.safe_load((report / "data" / "report.yml").read_text("utf-8"))


def pdf_text(pdf: Path, layout: bool = False, first: int | None = None, last: int | None = None) -> str:
    cmd = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        cmd.append("-layout")
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    return subprocess.run(cmd + [str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def pdf_pages_text(pdf: Path) -> list[str]:
    return pdf_text(pdf).split("\f")[:-1]


def page_starting_with(pages: list[str], text: str) -> int:
    """The 0-based index of the one page whose text begins with ``text`` (whitespace ignored)."""
    found = [index for index, page in enumerate(pages) if squash(page).startswith(squash(text))]
    assert len(found) == 1, f"{text!r} begins pages {found}"
    return found[0]


def squash(text: str) -> str:
    """Text without any whitespace: CJK extraction may put spaces anywhere."""
    return re.sub(r"\s+", "", text)


@dataclass
class Link:
    page: int  # 0-based page of the link
    text: str  # words inside the link's rectangle
    dest_page: int  # 0-based page the link points to
    dest: str
    top: int = 0  # top of the annotation, to tell lines apart


def _words_by_page(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True).stdout
    root = etree.fromstring(xml, parser=etree.XMLParser(recover=True))
    pages = []
    for page in root.iter("{*}page"):
        height = float(page.get("height"))
        words = [(float(w.get("xMin")), height - float(w.get("yMax")), float(w.get("xMax")), height - float(w.get("yMin")),
                  w.text or "") for w in page.iter("{*}word")]
        pages.append(words)
    return pages


def pdf_footers(pdf: Path) -> list[str]:
    """The lowest line of each page, by word position (pdftotext's reading order may put a
    table after the footer)."""
    footers = []
    for words in _words_by_page(pdf):
        bottom = min((w[1] for w in words), default=0)
        footers.append(" ".join(w[4] for w in sorted(words) if w[1] <= bottom + 2))
    return footers


def pdf_links(pdf: Path) -> list[Link]:
    """Internal links, one per annotation, with the words inside its rectangle.

    WeasyPrint writes one annotation per line box of a link (and one for a ::after page
    number), so a wrapped title gives several; the page number sits in the last one.
    """
    reader = PdfReader(str(pdf))
    named = reader.named_destinations
    words = _words_by_page(pdf)
    links: list[Link] = []
    for index, page in enumerate(reader.pages):
        for annot in page.get("/Annots", []) or []:
            annot = annot.get_object()
            dest = annot.get("/Dest")
            if annot.get("/Subtype") != "/Link" or dest is None or str(dest) not in named:
                continue
            x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
            x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
            inside = [w[4] for w in words[index]
                      if w[0] >= x0 - 1 and w[2] <= x1 + 1 and w[1] >= y0 - 2 and w[3] <= y1 + 2]
            links.append(Link(index, " ".join(inside), reader.get_destination_page_number(named[str(dest)]),
                              str(dest), round(y1)))
    return links


def page_number_links(links: list[Link], pattern: str) -> list[tuple[Link, int]]:
    """Links whose text ends with a page number (pattern has one group), one per line of text."""
    seen, result = set(), []
    for link in links:
        match = re.search(pattern, link.text)
        if match and (link.page, link.dest, link.top) not in seen:
            seen.add((link.page, link.dest, link.top))
            result.append((link, int(match.group(1))))
    return result


def pdf_outline(pdf: Path) -> list[tuple[int, str, int]]:
    """(depth, title, 0-based page) of every bookmark."""
    reader = PdfReader(str(pdf))
    result = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                result.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return result


def pdf_fonts(pdf: Path) -> list[dict]:
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()
    fonts = []
    for line in out[2:]:
        parts = line.split()
        # name type... encoding emb sub uni object ID: read the yes/no columns from the right
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return fonts
