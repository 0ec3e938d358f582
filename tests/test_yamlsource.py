"""yamlsource.py: data YAML is loaded with its lines, and bounded (alias bombs, huge files)."""

import time
from pathlib import Path

import pytest
import yaml
from support import run_cli

from build_tools import yamlsource
from build_tools.errors import DataError
from build_tools.yamlsource import load_yaml


def laughs(levels: int, fan: int = 9) -> str:
    """A "billion laughs" document as a KPI entry whose `disclose:` list is the last level."""
    lines = ["  - id: laughing", "    name: {en: L, zh-Hant: 笑}", "    unit: t",
             f"    lol0: &l0 [{', '.join(['lol'] * fan)}]"]
    for level in range(1, levels):
        lines.append(f"    lol{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fan)}]")
    lines.append(f"    disclose: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def sizes(levels: int, fan: int = 9) -> list[int]:
    """Expanded nodes of each level of ``laughs``: a list of ``fan`` copies of the level below."""
    found = [1 + fan]
    for _ in range(1, levels):
        found.append(1 + fan * found[-1])
    return found


def added(levels: int, fan: int = 9) -> int:
    """Nodes the aliases of ``laughs(levels)`` add: each level's ``fan`` aliases, then `disclose`."""
    size = sizes(levels, fan)
    return sum(fan * size[level - 1] for level in range(1, levels)) + size[-1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bomb.yml"
    path.write_text(text, "utf-8")
    return path


def test_a_billion_laughs_stops_at_once_at_the_alias_that_passes_the_limit(tmp_path):
    text = laughs(10)
    path = write(tmp_path, "kpis:\n" + text)
    started = time.monotonic()
    with pytest.raises(DataError) as caught:
        load_yaml(path)
    assert time.monotonic() - started < 1
    [error] = caught.value.diagnostics.errors
    # The first level whose aliases pass 10,000 added nodes: derived from the sizes, not copied.
    size = sizes(10)
    level = next(n for n in range(1, 10) if sum(9 * size[j - 1] for j in range(1, n + 1)) > yamlsource.MAX_ALIAS_NODES)
    assert (error.code, error.file, error.line) == ("data.yaml-alias", str(path), 5 + level)
    assert "aliases expand this file by more than 10,000 values" in error.message
    assert "write the values out" in error.hint


def test_the_limit_is_the_number_of_added_nodes(tmp_path, monkeypatch):
    text = laughs(2, fan=3)
    path = write(tmp_path, "kpis:\n" + text)
    monkeypatch.setattr(yamlsource, "MAX_ALIAS_NODES", added(2, fan=3))
    assert load_yaml(path)["kpis"][0]["disclose"] == [["lol"] * 3] * 3
    monkeypatch.setattr(yamlsource, "MAX_ALIAS_NODES", added(2, fan=3) - 1)
    with pytest.raises(DataError, match="aliases expand this file"):
        load_yaml(path)


def test_ordinary_anchors_still_load(tmp_path):
    path = write(tmp_path, "base: &base {en: Tonnes, zh-Hant: 噸}\nother: *base\nlist: [*base, *base]\n")
    document = load_yaml(path)
    assert document["other"] == document["list"][1] == {"en": "Tonnes", "zh-Hant": "噸"}
    assert document.line_of("list") == 3


def test_an_alias_inside_its_own_anchor_is_located(tmp_path):
    path = write(tmp_path, "kpis:\n  - &self\n    id: x\n    again: *self\n")
    with pytest.raises(DataError) as caught:
        load_yaml(path)
    [error] = caught.value.diagnostics.errors
    assert (error.code, error.line) == ("data.yaml-alias", 4)


def test_a_huge_data_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlsource, "MAX_DATA_BYTES", 1024)
    path = write(tmp_path, "notes: |\n" + "  filler line\n" * 100)
    with pytest.raises(DataError) as caught:
        load_yaml(path)
    [error] = caught.value.diagnostics.errors
    assert (error.code, error.file) == ("data.too-large", str(path))
    assert error.message == f"the file is {path.stat().st_size:,} bytes; data files are limited to 1,024 bytes"


def test_cli_check_reports_the_bomb_in_a_kpi_file_with_exit_1(starter):
    text = laughs(9)
    kpi_file = starter / "data" / "kpis" / "laughs.yml"
    kpi_file.write_text("group: laughs\ntitle: {en: L, zh-Hant: 笑}\nkpis:\n" + text, "utf-8")
    before = kpi_file.read_bytes()
    started = time.monotonic()
    code, out, err = run_cli("check", str(starter))
    assert time.monotonic() - started < 30  # the whole check; the unbounded file took 42 s and then ran out of memory
    assert code == 1
    assert "data/kpis/laughs.yml:" in err and "error: aliases expand this file by more than 10,000 values [data.yaml-alias]" in err
    assert "Traceback" not in out + err
    assert kpi_file.read_bytes() == before


def test_the_limits_hold_for_the_libyaml_loader_in_use():
    # The limit is measured between composing and constructing, so it holds for libyaml's C composer.
    if yaml.__with_libyaml__:
        assert issubclass(yamlsource._Loader, yaml.CSafeLoader)


def test_cli_check_reports_an_oversized_data_file_with_exit_1(starter, monkeypatch):
    report = starter / "data" / "report.yml"
    monkeypatch.setattr(yamlsource, "MAX_DATA_BYTES", report.stat().st_size - 1)
    before = report.read_bytes()
    code, out, err = run_cli("check", str(starter))
    assert code == 1
    assert (f"data/report.yml: error: the file is {len(before):,} bytes; data files are limited to "
            f"{len(before) - 1:,} bytes [data.too-large]") in err
    assert "Traceback" not in out + err
    assert report.read_bytes() == before
