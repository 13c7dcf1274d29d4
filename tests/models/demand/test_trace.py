"""Trace export/import round trip and row-numbered errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from models.clock import TZ
from models.demand.trace import read_trace, write_trace
from models.demand.workload import KIND_BATCH, ClassSpec, Jobs, generate_jobs
from models.errors import InputError

REGIONS = ["beijing", "shanghai", "chengdu"]
CLASSES = ["web", "etl"]
HEADER = "arrival_s,region,class,service_s,data_gb\n"


def _jobs() -> Jobs:
    specs = [
        ClassSpec("web", KIND_BATCH, 300.0, "lognormal", 0.3, 2.0, np.array([0.5, 0.3, 0.2])),
        ClassSpec(
            "etl",
            KIND_BATCH,
            40.0,
            "pareto",
            3600.0,
            1.5,
            np.array([0.0, 0.5, 0.5]),
            data_gb=100.0,
            data_dist="lognormal",
            data_cv=1.2,
        ),
    ]
    return generate_jobs(specs, 6 * 3600.0, np.random.default_rng(8))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    jobs = _jobs()
    p = tmp_path / f"trace{suffix}"
    write_trace(jobs, p, REGIONS, CLASSES)
    back = read_trace(p, REGIONS, CLASSES)
    for name in ("arrival_s", "region", "klass", "service_s", "data_gb"):
        a, b = getattr(jobs, name), getattr(back, name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert not list(tmp_path.glob(".*tmp"))


def test_iso_times_and_sorting(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        "arrival_time,region,class,service_s,data_gb\n"
        "2025-07-01T00:01:00+08:00,chengdu,etl,5,1\n"
        "2025-07-01T00:00:10,beijing,web,1,0\n"
        "2025-06-30T16:00:30Z,shanghai,web,2,0\n"
    )
    jobs = read_trace(p, REGIONS, CLASSES, start=datetime(2025, 7, 1, tzinfo=TZ))
    assert jobs.arrival_s.tolist() == [10.0, 30.0, 60.0]
    assert jobs.region.tolist() == [0, 1, 2] and jobs.klass.tolist() == [0, 0, 1]
    with pytest.raises(InputError, match="start"):
        read_trace(p, REGIONS, CLASSES)


@pytest.mark.parametrize(
    ("rows", "key", "msg"),
    [
        ("1,beijing,web,1,0\n-5,beijing,web,1,0\n", "row 2", "negative"),
        ("1,beijing,web,1,0\n2,beijing,web,1,0\nsoon,beijing,web,1,0\n", "row 3", "not a number"),
        ("1,paris,web,1,0\n", "row 1", "unknown region"),
        ("1,beijing,web,1,0\n2,beijing,chess,1,0\n", "row 2", "unknown class"),
        ("1,beijing,web,,0\n", "row 1", "'service_s' is missing"),
        ("1,beijing,web,1,nan\n", "row 1", "'data_gb'"),
        ("1,beijing,web,-1,0\n", "row 1", "'service_s' is negative"),
        (",beijing,web,1,0\n1,,web,1,0\n", "row 1", "arrival_s"),
        ("".join(f"-{i},beijing,web,1,0\n" for i in range(1, 8)), "rows 1, 2, 3, 4, 5 (+2 more)", "negative"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, rows: str, key: str, msg: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(HEADER + rows)
    with pytest.raises(InputError, match=msg) as err:
        read_trace(p, REGIONS, CLASSES)
    assert err.value.key_path == key
    assert err.value.source == str(p)


def test_missing_columns_and_unknown_format(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("arrival_s,region,class,service_s\n1,beijing,web,1\n")
    with pytest.raises(InputError, match="data_gb"):
        read_trace(p, REGIONS, CLASSES)
    p.write_text("region,class,service_s,data_gb\nbeijing,web,1,0\n")
    with pytest.raises(InputError, match="arrival_s"):
        read_trace(p, REGIONS, CLASSES)
    with pytest.raises(InputError, match="format"):
        read_trace(tmp_path / "trace.json", REGIONS, CLASSES)
