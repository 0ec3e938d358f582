"""pipeline.py: reproducible output and data shown literally everywhere."""

import yaml

from build_tools.pipeline import build_report
from build_tools.project import Project
from support import pdf_text, squash

HOSTILE = "<script>alert(1)</script> | *bold* {{ kpi('x') }} &amp;"


def files_of(site):
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def test_two_builds_are_byte_identical(starter, tmp_path):
    build_report(Project.at(starter), pdf=False, output=tmp_path / "a" / "site")
    build_report(Project.at(starter), pdf=False, output=tmp_path / "b" / "site")
    a, b = files_of(tmp_path / "a" / "site"), files_of(tmp_path / "b" / "site")
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


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
