"""Which full-width punctuation marks are set at half width (build_tools/typesetting.py)."""

import pytest

from build_tools.typesetting import halved, squeeze_punctuation


@pytest.mark.parametrize("text, marks", [
    ("（「ESG」）", "「」"),     # an opening mark after a mark; a closing mark before one
    ("報告。」好", "。"),        # a centred full stop before a closing quote
    ("目錄」），其", "」）"),
    ("甲，乙。丙", ""),          # single marks keep their full width
    ("「」", ""),               # so does an empty pair
])
def test_halved_marks(text, marks):
    assert "".join(text[i] for i in sorted(halved(text))) == marks


def test_runs_stay_on_one_line_with_their_neighbour_and_drawings_and_code_are_untouched():
    page = '<p title="（「x」）">見（「ESG」）。</p><svg><text>（「x」）</text></svg><pre><code>（「</code></pre>'
    assert squeeze_punctuation(page) == (
        '<p title="（「x」）">'
        '<span class="cjk-run">見（<span class="cjk-half">「</span>E</span>S'
        '<span class="cjk-run">G<span class="cjk-half">」</span><span class="cjk-half">）</span>。</span></p>'
        '<svg><text>（「x」）</text></svg><pre><code>（「</code></pre>')
