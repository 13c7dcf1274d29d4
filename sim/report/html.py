"""One self-contained ``report.html``: inline CSS, figures as base64 data URIs, no scripts."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.runfolder.write import write_text

CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 0; color: #1a202c;
       background: #f7fafc; }
header { background: #1a365d; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: 0.85; }
main { max-width: 1500px; margin: 0 auto; padding: 16px 32px 48px 32px; }
section { background: white; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,0.12);
          padding: 12px 20px 20px 20px; margin: 18px 0; }
h2 { font-size: 19px; color: #1a365d; border-bottom: 2px solid #e2e8f0; padding-bottom: 4px; }
p.note { color: #4a5568; font-size: 14px; margin: 4px 0 10px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 14px 0; }
th, td { border: 1px solid #e2e8f0; padding: 4px 10px; text-align: right; }
th { background: #edf2f7; }
td:first-child, th:first-child { text-align: left; }
tr.west td:first-child { color: #c05621; font-weight: bold; }
tr.east td:first-child { color: #2b6cb0; font-weight: bold; }
td.bad { color: #c53030; font-weight: bold; }
td.good { color: #2f855a; }
.kv { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 8px 18px; }
.kv div { background: #edf2f7; border-radius: 4px; padding: 6px 10px; }
.kv b { display: block; font-size: 12px; color: #4a5568; font-weight: normal; }
.kv span { font-size: 17px; font-weight: bold; }
img { max-width: 100%; height: auto; display: block; margin: 8px auto; }
footer { color: #718096; font-size: 12px; text-align: center; padding: 12px; }
"""


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    row_classes: Sequence[str] | None = None
    cell_classes: Sequence[Sequence[str]] | None = None

    def render(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = []
        for i, row in enumerate(self.rows):
            rc = self.row_classes[i] if self.row_classes else ""
            cells = []
            for j, cell in enumerate(row):
                cc = self.cell_classes[i][j] if self.cell_classes else ""
                attr = f' class="{cc}"' if cc else ""
                cells.append(f"<td{attr}>{html.escape(cell)}</td>")
            cls = f' class="{rc}"' if rc else ""
            body.append(f"<tr{cls}>{''.join(cells)}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass
class Section:
    title: str
    note: str = ""
    tables: Sequence[Table] = ()
    figures: Sequence[Path] = ()
    facts: Sequence[tuple[str, str]] = ()


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def render(title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header><main>",
    ]
    for sec in sections:
        parts.append(f"<section><h2>{html.escape(sec.title)}</h2>")
        if sec.note:
            parts.append(f'<p class="note">{html.escape(sec.note)}</p>')
        if sec.facts:
            items = "".join(
                f"<div><b>{html.escape(k)}</b><span>{html.escape(v)}</span></div>" for k, v in sec.facts
            )
            parts.append(f'<div class="kv">{items}</div>')
        parts.extend(t.render() for t in sec.tables)
        for fig in sec.figures:
            alt = html.escape(fig.stem.replace("_", " "))
            parts.append(f'<img alt="{alt}" title="{html.escape(fig.name)}" src="{data_uri(fig)}">')
        parts.append("</section>")
    parts.append(f"</main><footer>{html.escape(footer)}</footer></body></html>")
    return "\n".join(parts) + "\n"


def write_html(path: Path, title: str, subtitle: str, sections: Sequence[Section], footer: str) -> Path:
    write_text(path, render(title, subtitle, sections, footer))
    return path
