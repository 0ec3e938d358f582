"""pipeline.py: reproducible output and data shown literally everywhere."""

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

import build_tools
from build_tools.pipeline import build_report
from build_tools.project import Project
from support import pdf_text, report_meta, squash

HOSTILE = "<script>alert(1)</script> | *bold* {{ kpi('x') }} &amp;"

# One process builds a report approved on another day (as a long-running `serve` might), then
# the starter: the second build must not carry the first one's date.
TWO_BUILDS = """
import sys
from pathlib import Path
from build_tools.cli import main
other, other_site, report, site = sys.argv[1:]
assert main(["build", other, "--edition", "en", "--no-pdf", "--output", other_site]) == 0
sys.exit(main(["build", report, "--output", site]))
"""


def files_of(site):
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def test_a_fresh_process_builds_the_session_build_byte_for_byte(starter, starter_build, tmp_path):
    """Site and PDFs are the same bytes in another process, whatever that process built before."""
    other = tmp_path / "other"
    shutil.copytree(starter, other)
    meta = report_meta(other)
    approved = dt.date.fromisoformat(str(meta["report"]["approved"]))
    meta["report"]["approved"] = (approved - dt.timedelta(days=400)).isoformat()
    (other / "data" / "report.yml").write_text(yaml.safe_dump(meta, allow_unicode=True), "utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(build_tools.__file__).parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-c", TWO_BUILDS, str(other), str(tmp_path / "other-site"), str(starter),
                             str(site)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    fresh, session = files_of(site), files_of(starter_build[0])
    assert fresh.keys() == session.keys()
    assert any(name.endswith(".pdf") for name in fresh) and any(name.endswith(".gz") for name in fresh)
    assert [name for name in fresh if fresh[name] != session[name]] == []


def test_hostile_data_text_is_shown_literally_in_site_and_pdf(starter, tmp_path):
    kpis = starter / "data" / "kpis" / "example.yml"
    document = yaml.safe_load(kpis.read_text("utf-8"))
    supplier = next(k for k in document["kpis"] if k["id"] == "suppliers_total")
    supplier["values"][2024]["note"] = {"en": HOSTILE, "zh-Hant": HOSTILE}
    supplier["name"]["en"] = "Suppliers | *all* <b>regions</b>"
    kpis.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    results, problems = build_report(Project.at(starter), editions=["en"], output=tmp_path / "site")
    assert not problems.errors, [d.format() for d in problems.items]
    page = (tmp_path / "site" / "en" / "social" / "index.html").read_text("utf-8")
    assert "<script>alert(1)</script>" not in page and "<b>regions</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = squash(pdf_text(tmp_path / "site" / "en" / "esg-report-en.pdf"))
    assert squash(HOSTILE) in text
    assert squash("Suppliers | *all* <b>regions</b>") in text
