"""Grid profiles: hourly and sub-hourly rows, repetition, and every malformed row named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.clock import TZ
from models.energy.grid_profile import load_grid_profile
from models.errors import InputError

START = datetime(2025, 7, 1, tzinfo=TZ)


def _write(tmp: Path, text: str, name: str = "g.csv") -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_hourly_rows_are_used_as_given_and_unnamed_clusters_stay_nan(tmp_path: Path) -> None:
    p = _write(tmp_path, "hour,cluster,grid_kgco2_per_kwh,tariff_cny_per_kwh\n" + "".join(
        f"{h},b,{0.1 * h},{0.5}\n" for h in range(3)))  # fmt: skip
    prof = load_grid_profile(p, ["a", "b"], START, 3)
    assert set(prof.values) == {"grid_kgco2_per_kwh", "tariff_cny_per_kwh"}
    g = prof.values["grid_kgco2_per_kwh"]
    assert np.isnan(g[0]).all()
    assert g[1].tolist() == [0.0, 0.1, 0.2]
    assert prof.named("grid_kgco2_per_kwh").tolist() == [False, True]
    base = np.full((2, 3), 0.9)
    assert prof.apply("grid_kgco2_per_kwh", base).tolist() == [[0.9] * 3, [0.0, 0.1, 0.2]]
    assert prof.apply("marginal_kgco2_per_kwh", base) is base  # a column the file lacks


def test_sub_hourly_rows_are_averaged_to_the_hour(tmp_path: Path) -> None:
    rows = [(q * 0.25, v) for q, v in enumerate([1, 2, 3, 6, 4, 4, 4, 4])]
    p = _write(tmp_path, "hour,cluster,marginal_kgco2_per_kwh\n" + "".join(f"{h},a,{v}\n" for h, v in rows))
    got = load_grid_profile(p, ["a"], START, 2).values["marginal_kgco2_per_kwh"]
    assert got[0].tolist() == [3.0, 4.0]


def test_iso_times_with_offsets_and_rows_before_the_start(tmp_path: Path) -> None:
    # 2025-06-30T17:00Z = 2025-07-01T01:00+08:00; a row before the start is ignored
    body = ("time,cluster,grid_kgco2_per_kwh\n2025-06-30T23:00:00+08:00,a,9\n"
            "2025-06-30T17:00:00+00:00,a,0.2\n2025-07-01T00:30:00+08:00,a,0.3\n"
            "2025-07-01T00:00:00+08:00,a,0.1\n2025-07-01T01:30:00,a,0.4\n")  # fmt: skip
    got = load_grid_profile(_write(tmp_path, body), ["a"], START, 2).values["grid_kgco2_per_kwh"]
    assert got[0] == pytest.approx([0.2, 0.3])


def test_parquet_profiles_read_like_csv(tmp_path: Path) -> None:
    df = pd.DataFrame({"hour": [0, 1], "cluster": ["a", "a"], "tariff_cny_per_kwh": [0.3, 0.7]})
    df.to_parquet(tmp_path / "g.parquet")
    got = load_grid_profile(tmp_path / "g.parquet", ["a"], START, 2).values["tariff_cny_per_kwh"]
    assert got[0].tolist() == [0.3, 0.7]


def test_a_short_profile_is_refused_or_repeated_by_whole_days(tmp_path: Path) -> None:
    p = _write(tmp_path, "hour,cluster,grid_kgco2_per_kwh\n" + "".join(f"{h},a,{h}\n" for h in range(24)))
    with pytest.raises(InputError, match="grid_profile_repeat"):
        load_grid_profile(p, ["a"], START, 30)
    got = load_grid_profile(p, ["a"], START, 50, repeat=True).values["grid_kgco2_per_kwh"][0]
    assert got.tolist() == [float(h % 24) for h in range(50)]
    q = _write(tmp_path, "hour,cluster,grid_kgco2_per_kwh\n0,a,1\n1,a,2\n", "q.csv")
    with pytest.raises(InputError, match="whole days"):
        load_grid_profile(q, ["a"], START, 30, repeat=True)


H = "hour,cluster,grid_kgco2_per_kwh\n"
MALFORMED = [
    ("unknown cluster", H + "0,a,1\n1,zz,1\n", "row 2", "unknown cluster"),
    ("negative value", H + "0,a,1\n1,a,-0.1\n", "row 2", "grid_kgco2_per_kwh"),
    ("nan value", H + "0,a,nan\n1,a,1\n", "row 1", "NaN"),
    ("missing value", "hour,cluster,grid_kgco2_per_kwh,tariff_cny_per_kwh\n0,a,1,0.5\n1,a,1,\n", "row 2",
     "tariff_cny_per_kwh"),
    ("text value", H + "0,a,dirty\n1,a,1\n", "row 1", "must be a number"),
    ("duplicate", H + "0,a,1\n1,a,1\n1,a,2\n", "row 3", "duplicate"),
    ("gap", H + "0,a,1\n1,a,1\n3,a,1\n", "row 3", "no row in hour 2"),
    ("late start", H + "2,a,1\n1,a,1\n", "row 2", "start"),
    ("irregular sub-hourly", H + "0,a,1\n0.5,a,1\n1,a,1\n", "row 3", "sub-hourly"),
    ("negative hour", H + "-1,a,1\n0,a,1\n1,a,1\n", "row 1", "hour"),
    ("bad hour", H + "x,a,1\n0,a,1\n", "row 1", "hour"),
    ("bad time", "time,cluster,grid_kgco2_per_kwh\nmonday,a,1\n", "row 1", "ISO time"),
    ("missing cluster", H + "0,,1\n1,a,1\n", "row 1", "cluster"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "key", "msg"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_every_malformed_row_is_named(tmp_path: Path, body: str, key: str, msg: str) -> None:
    p = _write(tmp_path, body)
    with pytest.raises(InputError, match=msg) as err:
        load_grid_profile(p, ["a"], START, 2)
    assert err.value.key_path == key
    assert err.value.source == str(p)


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ("hour,cluster\n0,a\n", "no signal column"),
        ("cluster,grid_kgco2_per_kwh\na,1\n", "missing column"),
        ("hour,time,cluster,grid_kgco2_per_kwh\n0,x,a,1\n", "not both"),
        (H, "no rows"),
    ],
)
def test_malformed_tables_are_named(tmp_path: Path, body: str, msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        load_grid_profile(_write(tmp_path, body), ["a"], START, 1)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0, 2, allow_nan=False), min_size=4, max_size=4),
    per_hour=st.sampled_from([1, 2, 4, 12]),
)
def test_averaging_preserves_each_hours_mean(values: list[float], per_hour: int) -> None:
    """Property: a sub-hourly profile whose samples are constant within an hour gives that value."""
    import tempfile

    rows = "".join(f"{h + q / per_hour!r},a,{v!r}\n" for h, v in enumerate(values) for q in range(per_hour))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "g.csv"
        p.write_text(H + rows)
        got = load_grid_profile(p, ["a"], START, 4).values["grid_kgco2_per_kwh"][0]
    assert got == pytest.approx(values, rel=1e-12, abs=1e-15)
