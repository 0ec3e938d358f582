"""The repository itself: the CI workflow for users' forges is valid, the catalogs are complete."""

import subprocess
import sys
from pathlib import Path

from build_tools.project import TOOLCHAIN_ROOT
from support import run_cli


def test_github_workflow_is_valid():
    workflow = TOOLCHAIN_ROOT / ".github" / "workflows" / "report.yml"
    result = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", str(workflow)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_builds_the_editions_as_parallel_jobs():
    import yaml

    workflow = yaml.safe_load((TOOLCHAIN_ROOT / ".github" / "workflows" / "report.yml").read_text("utf-8"))
    edition = workflow["jobs"]["edition"]
    assert edition["strategy"]["matrix"]["edition"] == ["en", "zh-Hant"]
    assert any("esg-report build --edition ${{ matrix.edition }}" in step.get("run", "") for step in edition["steps"])


def test_ui_catalogs_are_complete_and_current():
    code, out, _ = run_cli("catalogs", "status", str(TOOLCHAIN_ROOT), "--check")
    assert code == 0, out
    assert "0 missing" in out and "0 no longer used" in out
