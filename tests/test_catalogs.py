"""catalogs.py and the reading of catalogs (i18n.read_catalog): a broken .po file is the writer's to fix."""

import json

import pytest

from support import run_cli


@pytest.mark.parametrize("broken, code, line_text", [
    (b"garbage line\n", "catalog.syntax", "not a valid gettext catalog: Unknown or misformatted keyword"),
    (b'msgid "Contents"\nmsgstr "\xff\xfe"\n', "catalog.encoding", "the catalog is not utf-8: invalid start byte"),
])
def test_a_broken_catalog_is_located_by_every_command_that_reads_it(broken, code, line_text, starter):
    """A byte that is not UTF-8 ended in a traceback (exit 2); a line Babel cannot parse was
    printed as a WARNING to stdout, into `check --format json`, and skipped."""
    assert run_cli("catalogs", "update", str(starter))[0] == 0
    po = starter / "translations" / "zh_Hant" / "LC_MESSAGES" / "messages.po"
    line = po.read_bytes().count(b"\n") + broken.count(b"\n")  # the last line of the appended text
    po.write_bytes(po.read_bytes() + broken)
    located = f"translations/zh_Hant/LC_MESSAGES/messages.po:{line}: error: {line_text} [{code}]"
    for command in (["catalogs", "status"], ["catalogs", "compile"], ["translations"]):
        status, out, err = run_cli(*command, str(starter))
        assert status == 1 and located in err and "Traceback" not in err, (command, err)
    status, out, err = run_cli("check", str(starter), "--format", "json")
    assert status == 1 and err == "failed\n", err  # a problem that stops the check: its JSON where check prints it
    (problem,) = json.loads(out)
    assert (problem["code"], problem["file"], problem["line"]) == (code, str(po), line)
