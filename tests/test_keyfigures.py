"""Key-figure cards (build_tools/keyfigures.py): the KPIs chosen in data/report.yml as cards with
label, value and a trend line, in both editions."""

import re

import yaml

from support import run_cli

CHOSEN = ["nox_emissions", "ghg_scope1_2"]


def kpis_of(starter) -> dict:
    document = yaml.safe_load((starter / "data" / "kpis" / "example.yml").read_text("utf-8"))
    return {k["id"]: k for k in document["kpis"]}


def test_cards_in_both_editions_with_trend(starter):
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8") + f"\nkey_figures: [{', '.join(CHOSEN)}]\n", "utf-8")
    for edition in ("en", "zh-Hant"):
        page = starter / "content" / edition / "index.md"
        page.write_text(page.read_text("utf-8") + "\n{{ key_figures() }}\n", "utf-8")
    code, out, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 0, out + err
    kpis = kpis_of(starter)
    for edition in ("en", "zh-Hant"):
        home = (starter / "site" / edition / "index.html").read_text("utf-8")
        cards = re.findall(r'<div class="key-figure">(.*?)</svg></div>', home)
        assert len(cards) == len(CHOSEN)
        for card, kpi_id in zip(cards, CHOSEN):
            assert f'data-kpi="{kpi_id}"' in card
            assert f'<p class="key-figure-label">{kpis[kpi_id]["name"][edition]}</p>' in card
            years = sorted(kpis[kpi_id]["values"])
            assert len(re.search(r'points="([^"]+)"', card).group(1).split()) == len(years)
            label = re.search(r'aria-label="([^"]+)"', card).group(1)
            assert [int(y) for y in re.findall(r"\b(20\d\d):", label)] == years


def test_unknown_kpi_in_the_selection_is_located(starter):
    page = starter / "content" / "en" / "index.md"
    page.write_text(page.read_text("utf-8") + "\n{{ key_figures(['nox_emission']) }}\n", "utf-8")
    line = len(page.read_text("utf-8").splitlines())
    code, out, err = run_cli("check", str(starter))
    assert code == 1
    assert f"content/en/index.md:{line}: error: unknown KPI id 'nox_emission'" in out + err
