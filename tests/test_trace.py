"""trace.py: every place a KPI is shown, with the PDF page on which the page text really shows it."""

import csv
import json
import shutil

import pytest
import yaml

from build_tools.pipeline import build_report
from build_tools.project import Project
from support import pdf_text, run_cli, squash

ASSURED = "ghg_scope1_2"
SENTENCE = {"en": "Our Scope 1 and 2 emissions were {{ kpi('ghg_scope1_2') }} in {{ year }}.\n\n",
            "zh-Hant": "本年度範圍1及範圍2排放量為{{ kpi('ghg_scope1_2') }}。\n\n"}


@pytest.fixture(scope="module")
def traced(starter_template, tmp_path_factory):
    """The starter with one KPI assured and also named in a sentence, built once with PDFs."""
    path = tmp_path_factory.mktemp("trace") / "report"
    shutil.copytree(starter_template, path)
    kpis = path / "data" / "kpis" / "example.yml"
    kpis.write_text(kpis.read_text("utf-8").replace(f"- id: {ASSURED}\n", f"- id: {ASSURED}\n  assured: true\n", 1), "utf-8")
    for edition, sentence in SENTENCE.items():
        chapter = path / "content" / edition / "social.md"
        text = chapter.read_text("utf-8")
        heading = text.index("\n## B2 ")
        chapter.write_text(text[:heading] + "\n" + sentence + text[heading:], "utf-8")
    results, problems = build_report(Project.at(path))
    assert not problems.errors, [d.format() for d in problems.items]
    return path, {r.edition: path / "site" / r.edition / r.pdf.rsplit("/", 1)[-1] for r in results}


def load(path, edition):
    return json.loads((path / "site" / edition / "downloads" / "kpi-locations.json").read_text("utf-8"))


def test_every_place_is_on_the_pdf_page_the_trace_gives(traced):
    path, pdfs = traced
    data = yaml.safe_load((path / "data" / "kpis" / "example.yml").read_text("utf-8"))
    for edition, pdf in pdfs.items():
        document = load(path, edition)
        assert [e["kpi"] for e in document["kpis"]] == [k["id"] for k in data["kpis"]]
        checked = 0
        for entry in document["kpis"]:
            for place in entry["places"]:
                assert place["pdf_page"], (edition, entry["kpi"], place)
                page_text = squash(pdf_text(pdf, first=place["pdf_page"], last=place["pdf_page"]))
                assert squash(place["text"]) in page_text, (edition, entry["kpi"], place)
                checked += 1
        # a table shows three years of each KPI; the sentence adds one place
        assert checked == 3 * len(data["kpis"]) + 1


def test_a_sentence_and_a_table_cell_are_both_places_of_the_kpi(traced):
    path, pdfs = traced
    for edition in pdfs:
        entry = next(e for e in load(path, edition)["kpis"] if e["kpi"] == ASSURED)
        kinds = [(p["kind"], p["page"], p["section"]) for p in entry["places"]]
        assert ("text", "social.md", "b1") in kinds
        assert kinds.count(("table", "environmental.md", "a1")) == 3
        sentence = next(p for p in entry["places"] if p["kind"] == "text")
        assert sentence["url"] == "social/#b1" and sentence["year"] == "2024"
        site_page = (path / "site" / edition / "social" / "index.html").read_text("utf-8")
        assert f'<span class="kpi" data-kpi="{ASSURED}" data-year="2024"' in site_page
        assert f'>{sentence["text"]}</span>' in site_page


def test_assured_kpi_is_marked_in_the_table_and_in_the_trace(traced):
    path, pdfs = traced
    rows = list(csv.DictReader((path / "site" / "en" / "downloads" / "kpi-locations.csv").open(encoding="utf-8")))
    assert {r["assured"] for r in rows if r["kpi"] == ASSURED} == {"yes"}
    assert {r["assured"] for r in rows if r["kpi"] != ASSURED} == {""}
    for edition, legend in (("en", "Δ Independently assured"), ("zh-Hant", "Δ 經獨立鑒證")):
        page = (path / "site" / edition / "environmental" / "index.html").read_text("utf-8")
        assert page.count('class="kpi-assured"') == 1
        assert legend in page
        assert squash(legend) in squash(pdf_text(pdfs[edition]))


def test_trace_command_prints_the_places(traced):
    path, _ = traced
    code, out, _ = run_cli("trace", ASSURED, str(path))
    assert code == 0
    entry = next(e for e in load(path, "en")["kpis"] if e["kpi"] == ASSURED)
    assert f"en: {ASSURED} — {entry['name']}  [assured]" in out
    for place in entry["places"]:
        assert f"{place['year']}  {place['text']}  ({place['kind']})  {place['page']} #{place['section']}" in out
        assert f"PDF p. {place['pdf_page']}" in out
    code, _, err = run_cli("trace", "ghg_scope12", str(path))
    assert code == 1 and "did you mean 'ghg_scope1_2'?" in err


def test_kpi_shown_nowhere_is_a_warning(starter):
    kpis = starter / "data" / "kpis" / "example.yml"
    document = yaml.safe_load(kpis.read_text("utf-8"))
    document["kpis"].append({"id": "forgotten_kpi", "name": {"en": "Forgotten", "zh-Hant": "被遺忘"}, "unit": "count",
                             "values": {2024: 1}})
    kpis.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    code, out, _ = run_cli("check", str(starter))
    assert code == 0
    line = next(i for i, text in enumerate(kpis.read_text("utf-8").splitlines(), 1) if "id: forgotten_kpi" in text)
    assert f"data/kpis/example.yml:{line}: warning: KPI 'forgotten_kpi' is not shown anywhere in the report [trace.unshown]" in out
    assert run_cli("check", str(starter), "--strict")[0] == 1


@pytest.mark.parametrize("text, why", [
    ("{broken", "it cannot be read"),
    ('{"edition": "en", "kpis": 5}', "it is not a KPI trace as a build writes it"),
    ('{"edition": "en", "kpis": [{"kpi": "x", "name": "X", "assured": false, "places": [{"year": "2024"}]}]}',
     "it is not a KPI trace as a build writes it"),
])
def test_a_damaged_trace_is_named_not_a_traceback(text, why, starter):
    trace = starter / "site" / "en" / "downloads" / "kpi-locations.json"
    trace.parent.mkdir(parents=True)
    trace.write_text(text, "utf-8")
    code, _, err = run_cli("trace", "x", str(starter))
    assert code == 1 and f"site/en/downloads/kpi-locations.json: error: the KPI trace of the last build is damaged: {why}" \
        in err, err
    assert "Traceback" not in err
