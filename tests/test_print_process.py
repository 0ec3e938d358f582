"""The PDF rendered in a process of its own (printing.PrintProcess), as builds with --jobs 2 or
more do it: the same PDF as in one process, its images read from the chapters' files, its
failures reported, and no process left behind."""

import gc
import logging
import os
import signal
import sys
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from build_tools.errors import Diagnostics, PrintError
from build_tools.pipeline import build_report
from build_tools.printing import PrintProcess, render_pdf
from build_tools.project import Project

PLAN = (240, 160)  # pixel size of the plain Markdown image added to a chapter


def add_plan(report: Path, edition: str) -> None:
    images = report / "content" / edition / "images"
    images.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", PLAN, (10, 120, 60)).save(images / "plan.png")
    chapter = report / "content" / edition / "environmental.md"
    chapter.write_text(chapter.read_text("utf-8") + "\n![Site plan](images/plan.png)\n", "utf-8")


def embedded_images(pdf: Path) -> list[tuple[int, int]]:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    return [(int(row[3]), int(row[4])) for row in (line.split() for line in listing.splitlines()[2:]) if row[2] == "image"]


def test_one_edition_on_two_cores_prints_beside_the_website_the_same_pdf(starter, tmp_path, caplog):
    add_plan(starter, "zh-Hant")
    project = Project.at(starter)
    with caplog.at_level(logging.INFO, logger="build_tools.pipeline"):
        beside, problems = build_report(project, editions=["zh-Hant"], jobs=2, output=tmp_path / "beside")
        assert not problems.errors, "\n".join(d.format() for d in problems.items)
        assert "zh-Hant: rendering the PDF in its own process" in caplog.text
        caplog.clear()
        alone, problems = build_report(project, editions=["zh-Hant"], jobs=1, output=tmp_path / "alone")
        assert not problems.errors
        assert "zh-Hant: rendering the PDF ..." in caplog.text and "its own process" not in caplog.text
    [beside_pdf], [alone_pdf] = [Path(r.pdf) for r in beside], [Path(r.pdf) for r in alone]
    assert beside_pdf.read_bytes() == alone_pdf.read_bytes()
    # the image is read from content/, not from the website being written at the same time
    assert PLAN in embedded_images(beside_pdf)


def test_a_warning_of_the_pdf_process_is_located_in_the_chapter(starter, tmp_path):
    chapter = starter / "content" / "en" / "social.md"
    chapter.write_text(chapter.read_text("utf-8") + '\n<img src="missing-chart.png" alt="Chart">\n', "utf-8")
    line = chapter.read_text("utf-8").splitlines().index('<img src="missing-chart.png" alt="Chart">') + 1
    results, problems = build_report(Project.at(starter), editions=["en"], jobs=2, output=tmp_path / "site")
    located = [d for d in problems.items if d.code == "print.weasyprint" and "missing-chart.png" in d.message]
    assert located and located[0].file == str(chapter) and located[0].line == line
    assert results[0].pdf  # a warning: the PDF is written (and --strict would fail the build)


def _print_html(pages: int) -> str:
    return "<html><body>" + "".join(f'<p style="break-after: page">Page {n}</p>' for n in range(pages)) + "</body></html>"


def test_a_closed_print_process_stops_at_once_and_writes_nothing(tmp_path):
    printer = PrintProcess()
    target = tmp_path / "report.pdf"
    printer.submit(_print_html(3000), tmp_path, target, [], None)
    printer.close()  # what a build does when the website failed: the PDF is not waited for
    assert not printer.alive
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".pdf"] == []


def test_a_killed_print_process_is_reported_not_waited_for(tmp_path):
    printer = PrintProcess()
    try:
        printer.submit(_print_html(3000), tmp_path, tmp_path / "report.pdf", [], None)
        os.kill(printer.pid, signal.SIGKILL)  # the out-of-memory killer, for example
        with pytest.raises(PrintError, match=r"the PDF process stopped before the PDF was written \(exit code -9\)"):
            printer.result(Diagnostics())
    finally:
        printer.close()


def test_the_print_process_ends_with_the_build(tmp_path):
    printer = PrintProcess()
    printer.submit(_print_html(2), tmp_path, tmp_path / "report.pdf", [], None)
    printed = printer.result(Diagnostics())
    assert len(printed.anchor_pages) == 0 and (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    pid = printer.pid
    printer.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_rendering_leaves_the_garbage_collector_as_it_was(tmp_path):
    before = gc.get_threshold()  # WeasyPrint runs with fewer collections, then the caller's settings return
    render_pdf(_print_html(2), tmp_path, tmp_path / "report.pdf")
    assert gc.get_threshold() == before
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_closing_a_waiting_print_process_ends_it_under_the_cli_signal_handler(tmp_path):
    """The CLI turns SIGTERM into KeyboardInterrupt; an edition that failed before its pages were
    rendered closed its PDF process, which then waited for a job forever (the build hung)."""
    script = tmp_path / "close.py"
    script.write_text("import signal\nfrom build_tools.printing import PrintProcess\n"
                      "def stop(*_):\n    raise KeyboardInterrupt\n"
                      "signal.signal(signal.SIGTERM, stop)\n"
                      "for _ in range(3):\n    PrintProcess().close()\nprint('closed')\n", "utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout == "closed\n" and "Traceback" not in done.stderr, done.stderr
