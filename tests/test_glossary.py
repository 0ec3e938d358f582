"""The terminology and punctuation check of the Chinese edition (build_tools/glossary.py)."""

import json

from build_tools.glossary import load_glossary, mask_markdown, punctuation_findings, term_findings
from build_tools.errors import Diagnostics
from build_tools.project import TOOLCHAIN_ROOT, Project
from support import run_cli


def glossary_findings(project_dir, *extra):
    code, out, _ = run_cli("check", str(project_dir), "--strict", "--format", "json", *extra)
    return code, [p for p in json.loads(out) if p["code"].startswith("glossary.")]


def append_line(path, line):
    text = path.read_text("utf-8").rstrip("\n") + "\n\n" + line + "\n"
    path.write_text(text, "utf-8")
    return len(text.splitlines())


def test_sample_report_has_no_glossary_finding():
    code, findings = glossary_findings(TOOLCHAIN_ROOT)
    assert findings == []
    assert code == 0


def test_avoided_term_half_width_comma_and_missing_pair_are_located(starter):
    zh_page = starter / "content" / "zh-Hant" / "social.md"
    en_page = starter / "content" / "en" / "environmental.md"  # its Chinese page never says 回收
    sentence = "我們重視用工合規, 並定期檢討相關政策。"
    zh_line = append_line(zh_page, sentence)
    en_line = append_line(en_page, "We review our product recall procedure every year.")

    code, findings = glossary_findings(starter)

    assert code == 1
    located = {(f["code"], f["file"].split("content/")[1], f["line"], f["col"]) for f in findings}
    assert located == {
        ("glossary.term", "zh-Hant/social.md", zh_line, sentence.index("用工") + 1),
        ("glossary.punctuation", "zh-Hant/social.md", zh_line, sentence.index(",") + 1),
        ("glossary.pair", "en/environmental.md", en_line, len("We review our product ") + 1),
    }
    by_code = {f["code"]: f for f in findings}
    assert "use 僱傭" in by_code["glossary.term"]["message"]
    assert "use '，'" in by_code["glossary.punctuation"]["message"]
    assert "回收" in by_code["glossary.pair"]["message"]
    assert run_cli("check", str(starter))[0] == 0  # warnings: only --strict fails


def test_allowed_in_place_titles_and_pairs_on_both_sides_are_not_reported(starter):
    zh_page = starter / "content" / "zh-Hant" / "social.md"
    en_page = starter / "content" / "en" / "social.md"
    append_line(zh_page, "我們遵守《網絡信息安全管理辦法》，並按程序回收產品。")
    append_line(zh_page, "本段引述原文的信息一詞。<!-- glossary: allow 信息 -->")
    append_line(zh_page, "請參閱`a, b`、https://example.com/a,b 及 {{ kpi('employees_total') }}。")
    append_line(en_page, "We recall products by procedure.")
    assert glossary_findings(starter)[1] == []  # (the English edit leaves the page's translation stale)


def test_report_glossary_adds_terms_and_quotes_are_checked(starter):
    (starter / "translations").mkdir(exist_ok=True)
    (starter / "translations" / "glossary.yml").write_text(
        "terms:\n  - {use: 示例控股, avoid: [範例控股]}\n", "utf-8")
    zh_page = starter / "content" / "zh-Hant" / "social.md"
    sentence = '範例控股提倡"以人為本"。'
    line = append_line(zh_page, sentence)
    _, findings = glossary_findings(starter)
    located = sorted((f["code"], f["line"], f["col"]) for f in findings)
    assert located == [("glossary.quotes", line, sentence.index('"') + 1),
                       ("glossary.quotes", line, sentence.rindex('"') + 1),
                       ("glossary.term", line, 1)]


def test_generated_text_is_checked_at_the_macro_call(starter):
    kpis = starter / "data" / "kpis" / "example.yml"
    kpis.write_text(kpis.read_text("utf-8").replace("zh-Hant: 僱員總數", "zh-Hant: 僱員總數(人)"), "utf-8")
    zh_page = starter / "content" / "zh-Hant" / "social.md"
    call = next(n for n, text in enumerate(zh_page.read_text("utf-8").splitlines(), start=1)
                if "employees_total" in text)
    _, findings = glossary_findings(starter)
    assert {(f["file"].split("content/")[1], f["line"], f["message"].split(" in the text")[0]) for f in findings} == {
        ("zh-Hant/social.md", call, "half-width '(' in Chinese text: use '（'"),
        ("zh-Hant/social.md", call, "half-width ')' in Chinese text: use '）'"),
    }

    lines = zh_page.read_text("utf-8").splitlines()
    lines[call - 1] += " <!-- glossary: allow ( ) -->"  # what a writer does while the source is fixed
    zh_page.write_text("\n".join(lines) + "\n", "utf-8")
    assert glossary_findings(starter)[1] == []


def test_masking_keeps_columns_and_skips_code_urls_jinja_and_attributes():
    source = '## 標題 { #id data-disclose="B1, B2" }\n見`x, y`及{{ kpi("a", zero="並無") }}, 完'
    masked = mask_markdown(source)
    assert len(masked) == len(source) and masked.count("\n") == 1
    first, second = masked.splitlines()
    assert punctuation_findings(first, set()) == []
    [comma] = punctuation_findings(second, set())
    assert comma.col == source.splitlines()[1].index(", 完") + 1


def test_longer_words_containing_a_variant_are_not_reported():
    glossary = load_glossary(Project.at(TOOLCHAIN_ROOT), Diagnostics())
    assert term_findings("我們使用工具檢查設備。", glossary, set()) == []
    [finding] = term_findings("加強用工管理。", glossary, set())
    assert finding.col == 3


def test_a_broken_report_glossary_is_a_located_error(starter):
    (starter / "translations").mkdir(exist_ok=True)
    (starter / "translations" / "glossary.yml").write_text("terms:\n  - {use: 甲, avoid: [乙]\n", "utf-8")
    code, out, _ = run_cli("check", str(starter))
    assert code == 1
    assert "translations/glossary.yml:" in out and "[glossary.file]" in out


def test_generated_text_inside_a_loop_is_checked_at_the_loop_s_macro_call(starter):
    kpis = starter / "data" / "kpis" / "example.yml"
    kpis.write_text(kpis.read_text("utf-8").replace("zh-Hant: 氮氧化物排放量", "zh-Hant: 氮氧化物排放量!"), "utf-8")
    zh_page = starter / "content" / "zh-Hant" / "social.md"  # the environmental page has the KPI's own table
    call = '{{ kpi_table(ids) }}'
    line = append_line(zh_page, "{% for ids in [['nox_emissions']] %}\n" + call + "\n{% endfor %}") - 1
    _, findings = glossary_findings(starter)
    loop = [f for f in findings if f["line"] == line]
    assert [(f["code"], f["col"]) for f in loop] == [("glossary.punctuation", 1)]
    assert "'!'" in loop[0]["message"]
