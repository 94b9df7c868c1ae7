"""A self-contained HTML heat map per authority: themes by entries, coloured by evidence
strength, in the spirit of a council's Best Value self-assessment heat map. Opens in any
browser without a server; every piece of document text is escaped."""

from __future__ import annotations

from html import escape

from pipeline.report.summary import AuthoritySummary
from pipeline.taxonomy import Taxonomy

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .4rem;font-size:.8rem;text-align:center;min-width:3.2rem}
th.theme{text-align:left;min-width:14rem}
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.3rem;font-size:.8rem}
.passages li{margin:.4rem 0;font-size:.85rem}
"""


def _colour(strength: float, failure: bool) -> str:
    if strength <= 0:
        return "#ffffff"
    level = min(1.0, strength / 3.0)
    light = int(235 - 120 * level)
    return f"rgb(255,{light},{light})" if failure else f"rgb({light},{min(255, light + 20)},{light})"


def render_heatmap(summaries: list[AuthoritySummary], taxonomy: Taxonomy) -> str:
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>bv-triage evidence heat map</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>Best Value evidence heat map</h1>",
             "<p class='legend'><span style='background:rgb(115,135,115);color:#fff'>characteristic</span>"
             "<span style='background:rgb(255,115,115)'>indicator of failure</span> darker = stronger evidence "
             "(confirmed links count double; rejected ones not at all)</p>"]
    for summary in summaries:
        parts.append(f"<h2>{escape(summary.name)} ({escape(summary.slug)})</h2>")
        parts.append(f"<p>{summary.documents} documents, {summary.passages} passages, {summary.evidence} evidence "
                     f"links, {summary.flagged_passages} flagged passages.</p><table>")
        for theme in taxonomy.themes:
            cells = []
            for entry in (e for e in taxonomy.entries if e.theme == theme.id):
                strength = summary.entries.get(entry.id, 0.0)
                title = escape(f"{entry.id}: {entry.text} (strength {strength:g})", quote=True)
                cells.append(f"<td title=\"{title}\" style='background:{_colour(strength, entry.is_failure)}'>"
                             f"{escape(entry.id)}</td>")
            parts.append(f"<tr><th class='theme' title=\"{escape(theme.description, quote=True)}\">"
                         f"{escape(theme.id)} {escape(theme.name)}</th>{''.join(cells)}</tr>")
        parts.append("</table>")
        if summary.strongest:
            parts.append("<p>Strongest flagged passages:</p><ol class='passages'>")
            for p in summary.strongest:
                score = f"{p.score:.2f}" if p.score is not None else "n/a"
                parts.append(f"<li><b>{escape(p.entry)}</b> ({escape(p.status)}, score {score}) "
                             f"{escape(p.title or p.document[:12])}, page {p.page or '-'}: "
                             f"{escape(p.text[:400])}</li>")
            parts.append("</ol>")
    parts.append("</body></html>")
    return "\n".join(parts)
