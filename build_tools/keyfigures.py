"""Key-figure cards: the figures a report chooses, each with its label, value and, where the KPI
has values for several years, a small trend line (inline SVG, like charts.py).

``{{ key_figures() }}`` shows the KPIs listed under ``key_figures:`` in data/report.yml (the home
page and the Highlights page can share the selection); ``{{ key_figures(["rd_investment"]) }}``
shows the ones given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from . import html

if TYPE_CHECKING:
    from .macros import ChapterRenderer

TREND_WIDTH, TREND_HEIGHT, TREND_MARGIN = 120, 32, 3


def key_figures_macro(renderer: "ChapterRenderer", error):
    """The chapter macro; ``error`` is the renderer's located error type."""
    def key_figures(kpis=None) -> Markup:
        ids = kpis if kpis is not None else renderer.data.meta.get("key_figures")
        if not ids or not isinstance(ids, (list, tuple)):
            raise error("key_figures() needs a list of KPI ids, or key_figures: in data/report.yml",
                        "for example key_figures(['rd_investment', 'training_coverage'])")
        return render_key_figures(renderer, [renderer._kpi(k) for k in ids])
    return key_figures


def render_key_figures(renderer: "ChapterRenderer", kpis) -> Markup:
    year = renderer.data.year
    colour = (getattr(renderer, "palette", None) or ["#0f4c5c"])[0]
    cards = []
    for kpi in kpis:
        years = [y for y in renderer.data.years if kpi.value(y) is not None and kpi.value(y).amount is not None]
        card = {"label": kpi.name[renderer.edition], "value": renderer.kpi(kpi.id, year) if year in kpi.values
                else renderer.format_value(kpi, year), "trend": None}
        if len(years) >= 2:
            amounts = [float(kpi.value(y).amount) for y in years]
            low, high = min(amounts), max(amounts)
            span = (high - low) or 1.0
            step = (TREND_WIDTH - 2 * TREND_MARGIN) / (len(years) - 1)
            points = [(TREND_MARGIN + i * step,
                       TREND_HEIGHT - TREND_MARGIN - (a - low) / span * (TREND_HEIGHT - 2 * TREND_MARGIN))
                      for i, a in enumerate(amounts)]
            card["trend"] = {
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                "last": {"x": f"{points[-1][0]:.1f}", "y": f"{points[-1][1]:.1f}"},
                "label": renderer._("; ").join(f"{y}: {renderer.format_value(kpi, y)}" for y in years),
            }
        cards.append(card)
    return html.render("key-figures.html", cards=cards, colour=colour, width=TREND_WIDTH, height=TREND_HEIGHT)
