"""What `make bench` prints and writes: the tables, the targets, bench.json and bench.svg."""

import json
import shutil
import subprocess
from xml.sax.saxutils import escape


def ms(microseconds):
    return "-" if microseconds is None else f"{microseconds / 1000:.2f} ms"


def rate(rps):
    return "-" if rps is None else f"{rps:,.0f}"


def table(headers, rows):
    """A plain text table, columns right-aligned except the first."""
    cells = [headers] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def throughput_table(scenarios, summaries, ceilings, ideals):
    """One row per scenario; the last column divides by the ceiling at the same connection count, or
    by the ideal rate where there is one (`ideals`: {scenario key: req/s})."""
    rows = []
    for scenario in scenarios:
        summary = summaries[scenario["key"]]
        if scenario["key"] in ideals:
            ratio = f"{summary['rps'] / ideals[scenario['key']]:.3f} of ideal {ideals[scenario['key']]:.0f}"
        elif ceilings.get(scenario["connections"]):
            ratio = f"{summary['rps'] / ceilings[scenario['connections']]:.3f}"
        else:
            ratio = "-"
        problems = summary["non2xx"] + summary["socket_errors"]
        rows.append([scenario["label"], scenario["connections"],
                     f"{rate(summary['rps'])} ({rate(summary['rps_min'])}-{rate(summary['rps_max'])})",
                     ms(summary["p50_us"]), ms(summary["p99_us"]), problems, ratio])
    return table(["scenario", "conns", "req/s median (min-max)", "p50", "p99", "non-2xx+errors",
                  "vs ceiling"], rows)


def store_table(stores):
    rows = []
    for store in stores:
        rows.append([store["label"], rate(store["c1_rps"]), ms(store["c1_p50_us"]), ms(store["c1_p99_us"]),
                     signed_us(store["added_mean_us"]), signed_us(store["added_p50_us"]),
                     rate(store["c16_rps"]), ms(store["c16_p99_us"]), store["non2xx"]])
    return table(["store", "c1 req/s", "c1 p50", "c1 p99", "added µs/req (mean)", "added µs/req (p50)",
                  "c16 req/s", "c16 p99", "non-2xx+errors"], rows)


def signed_us(value):
    return "-" if value is None else f"{value:+.0f}"


def logs_table(logs):
    def failures(log):
        return ", ".join(f"{count} x {what}" for what, count in log["not_200"].items()) or "none"

    rows = [[name, f"{log['answered']:,}", failures(log), f"{log['slowest_ms']:,.0f} ms"] for name, log in logs.items()]
    return table(["handler", "answered", "not 200", "slowest"], rows)


def targets_table(targets):
    rows = [[t["name"], t["measured"], t["target"], t["verdict"]] for t in targets]
    return table(["target", "measured", "target", "result"], rows)


def target(name, value, op, bound, detail=""):
    """One target: PASS or MISS of `value op bound` (op is ">=" or "<=")."""
    passed = value is not None and (value >= bound if op == ">=" else value <= bound)
    shown = "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
    return {"name": name, "value": value, "op": op, "bound": bound, "passed": passed,
            "measured": shown + detail, "target": f"{op} {bound}", "verdict": "PASS" if passed else "MISS"}


def write_json(path, data):
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


# The plot

BAR_COLORS = {"proxy": "#6b7280", "fastcgi": "#2563eb", "cgi": "#d97706"}


def svg_plot(bars, ratios, title):
    """Two panels of horizontal bars: req/s per scenario, then each ratio against its target line.

    `bars` are (label, req/s, kind); `ratios` are target dicts from `target()`.
    """
    width, label_width, bar_width, row = 860, 330, 400, 22
    top = 50
    parts = [f'<text x="12" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
             f'<text x="12" y="{top - 8}" font-size="13" font-weight="bold">'
             f'requests per second (median of rounds)</text>']
    top_rps = max([value for _, value, _ in bars if value] + [1])
    y = top
    for label, value, kind in bars:
        length = bar_width * (value or 0) / top_rps
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
                     f'fill="{BAR_COLORS.get(kind, "#6b7280")}"/>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + 15}" font-size="12">{rate(value)}</text>')
        y += row
    y += 30
    parts.append(f'<text x="12" y="{y - 8}" font-size="13" font-weight="bold">ratios against their targets '
                 f'(dashed line; green = PASS, red = MISS)</text>')
    scale_max = max([1.5] + [r["value"] * 1.1 for r in ratios if r["value"]] + [r["bound"] * 1.2 for r in ratios])
    for ratio in ratios:
        value = ratio["value"] or 0
        length = bar_width * value / scale_max
        mark = label_width + bar_width * ratio["bound"] / scale_max
        color = "#16a34a" if ratio["passed"] else "#dc2626"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f'{escape(ratio["name"])}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{color}"/>')
        parts.append(f'<line x1="{mark:.1f}" y1="{y}" x2="{mark:.1f}" y2="{y + row}" stroke="#111" '
                     f'stroke-width="2" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{max(label_width + length, mark) + 6:.1f}" y="{y + 15}" font-size="12">'
                     f'{value:.3f} (target {escape(ratio["op"])} {ratio["bound"]})</text>')
        y += row
    height = y + 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
            f'<rect width="{width}" height="{height}" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n")


def write_svg(path, svg):
    """Writes the SVG, and a PNG beside it when rsvg-convert is installed. Returns the files written."""
    path.write_text(svg)
    written = [path]
    if shutil.which("rsvg-convert"):
        png = path.with_suffix(".png")
        if subprocess.run(["rsvg-convert", "-o", str(png), str(path)]).returncode == 0:
            written.append(png)
    return written
