"""One diagnostics boundary: the engines' own messages become located diagnostics, so
`--strict` means the same for a chapter error, a MkDocs warning and a WeasyPrint warning."""

import logging

import pytest

from support import run_cli


def add_to_chapter(report, text, page="environmental.md", edition="en"):
    path = report / "content" / edition / page
    path.write_text(path.read_text("utf-8") + "\n" + text + "\n", "utf-8")
    return path


def test_a_weasyprint_warning_fails_a_strict_build_located_in_the_chapter(starter):
    add_to_chapter(starter, '<p style="colour: red">A paragraph with a misspelt property.</p>')
    code, _, err = run_cli("build", str(starter), "--strict", "--edition", "en")
    assert code == 1, err
    assert "warning: Ignored `colour: red`" in err and "[print.weasyprint]" in err
    assert "Traceback" not in err
    code, _, err = run_cli("build", str(starter), "--edition", "en")  # without --strict it is a warning only
    assert code == 0 and "[print.weasyprint]" in err


def test_an_image_weasyprint_cannot_load_is_located_at_the_chapter_line(starter):
    path = add_to_chapter(starter, '<img src="no-such-logo.png" alt="Logo">')
    code, _, err = run_cli("build", str(starter), "--strict", "--edition", "en")
    line = len(path.read_text("utf-8").splitlines())
    assert code == 1
    assert f"content/en/environmental.md:{line}: warning: Failed to load image" in err and "[print.weasyprint]" in err


def test_a_remote_image_is_never_downloaded_into_the_pdf(starter):
    path = add_to_chapter(starter, '<img src="https://example.invalid/logo.png" alt="Logo">')
    code, _, err = run_cli("build", str(starter), "--edition", "en")
    line = len(path.read_text("utf-8").splitlines())
    assert code == 1
    # Refused twice: the website loads nothing from other hosts either.
    assert (f"content/en/environmental.md:{line}: error: the page would load https://example.invalid/logo.png "
            "from another host [content.remote]") in err
    assert "Traceback" not in err


@pytest.mark.allow_logs
def test_plain_mkdocs_build_reports_a_broken_chapter_and_strict_fails(starter, tmp_path, caplog):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    add_to_chapter(starter, 'We emitted {{ kpi("nox_emission") }}.')
    config = load_config(str(starter / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True)
    with pytest.raises(Abort):
        build(config)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("environmental.md:" in m and "unknown KPI id 'nox_emission'" in m for m in errors), errors


def test_an_edition_the_report_does_not_have_is_a_located_user_error(starter):
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8").replace("- zh-Hant\n", ""), "utf-8")
    code, _, err = run_cli("build", str(starter), "--edition", "zh-Hant", "--no-pdf")
    assert code == 1, err
    assert "data/report.yml:" in err and "the report has no zh-Hant edition" in err
    assert "internal error" not in err and "Traceback" not in err
