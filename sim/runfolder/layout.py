"""The run folder's layout: its file names, the columns of its tables (with units) and its summary.

This module is the one place that says what a run folder holds. The runner
and the engine's job records write by it, the reports and the Python API
read by it, and sweeps find complete runs by it. It imports nothing of
:mod:`sim` but the modules beside it (the writer; :mod:`~sim.runfolder.summary`,
the typed summary it re-exports), and nothing of the engine.

A run folder (``edwc run CONFIG --out DIR``)::

    config.resolved.yaml   the config after defaults and overrides
    summary.json           one object (:class:`Summary`); written last: its presence marks a complete run
    jobs.parquet           one row per simulated batch job (:data:`JOBS_COLUMNS`)
    flows.parquet          latency flows per step, region, class, cluster (:data:`FLOWS_COLUMNS`)
    latency_hist.parquet   latency classes' RTT + wait histograms (:data:`LATENCY_HIST_COLUMNS`)
    timeseries.parquet     per cluster and time step (:data:`TIMESERIES_COLUMNS`)
    plan.parquet           lp runs: the plan's executed hours (:data:`PLAN_COLUMNS`)
    shadow_prices.parquet  lp runs: capacity duals (:data:`SHADOW_PRICES_COLUMNS`)
    plan_duals.parquet     lp runs: SLO and carbon-cap duals per solve (:data:`PLAN_DUALS_COLUMNS`)
    report.html, *.png     the report (``edwc report DIR``)

A sweep folder holds ``sweep.yaml``, ``summary.parquet`` and ``runs/<run-id>/``
(run folders, or ``error.txt`` for a run that failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from models.errors import InputError
from sim.runfolder.summary import (
    BacklogSummary,
    CarbonSummary,
    ClassSummary,
    ClusterSummary,
    ComputeGroup,
    FaultsSummary,
    LatencyClassSummary,
    NetworkSummary,
    OccupancyGroup,
    PerServerHour,
    PowerSummary,
    SideSummary,
    SloMetShare,
    Summary,
    TotalsSummary,
)

# the typed summary.json is defined in sim.runfolder.summary and re-exported here (layout.Summary etc.)
__all__ = [
    "CONFIG",
    "ERROR",
    "FLOWS",
    "FLOWS_COLUMNS",
    "FLOWS_SCHEMA",
    "JOBS",
    "JOBS_COLUMNS",
    "JOBS_SCHEMA",
    "LATENCY_HIST",
    "LATENCY_HIST_COLUMNS",
    "LATENCY_HIST_SCHEMA",
    "PLAN",
    "PLAN_COLUMNS",
    "PLAN_DUALS",
    "PLAN_DUALS_COLUMNS",
    "POLICY_TABLES",
    "REPORT",
    "RUN_FILES",
    "SHADOW_PRICES",
    "SHADOW_PRICES_COLUMNS",
    "SUMMARY",
    "SWEEP_RUNS",
    "SWEEP_SPEC",
    "SWEEP_SUMMARY",
    "TABLES",
    "TIMESERIES",
    "TIMESERIES_COLUMNS",
    "BacklogSummary",
    "CarbonSummary",
    "ClassSummary",
    "ClusterSummary",
    "Column",
    "ComputeGroup",
    "FaultsSummary",
    "LatencyClassSummary",
    "NetworkSummary",
    "OccupancyGroup",
    "PerServerHour",
    "PowerSummary",
    "SideSummary",
    "SloMetShare",
    "Summary",
    "TotalsSummary",
    "check_out_dir",
    "is_run_dir",
    "is_sweep_dir",
    "names",
    "read_config",
    "read_summary",
    "read_table",
    "schema",
    "table_from_frame",
]

if TYPE_CHECKING:
    import pandas as pd

# --------------------------------------------------------------------------- file names

CONFIG = "config.resolved.yaml"
SUMMARY = "summary.json"
JOBS = "jobs.parquet"
FLOWS = "flows.parquet"
LATENCY_HIST = "latency_hist.parquet"
TIMESERIES = "timeseries.parquet"
PLAN = "plan.parquet"
SHADOW_PRICES = "shadow_prices.parquet"
PLAN_DUALS = "plan_duals.parquet"
REPORT = "report.html"
ERROR = "error.txt"  # a sweep's failed run: the error, then the traceback
SWEEP_SPEC = "sweep.yaml"
SWEEP_SUMMARY = "summary.parquet"
SWEEP_RUNS = "runs"

#: Tables a policy may contribute (:meth:`sim.engine.policy.Policy.outputs`); a run whose
#: policy contributes none removes them, so a folder never mixes two runs' files.
POLICY_TABLES = (PLAN, SHADOW_PRICES, PLAN_DUALS)
#: Every file a run writes (the report's PNGs aside).
RUN_FILES = (CONFIG, SUMMARY, JOBS, FLOWS, LATENCY_HIST, TIMESERIES, *POLICY_TABLES, REPORT)


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """One column of a run-folder table: its name, Arrow type, unit and meaning."""

    name: str
    type: pa.DataType
    unit: str
    doc: str


_ID = pa.dictionary(pa.int32(), pa.string())
_F = pa.float64()

JOBS_COLUMNS: tuple[Column, ...] = (
    Column("job_id", pa.int64(), "", "simulated batch job, numbered in arrival order"),
    Column("class", _ID, "", "workload class"),
    Column("region", _ID, "", "origin region"),
    Column("cluster", _ID, "", "serving cluster (null when dropped)"),
    Column("status", _ID, "", "completed | dropped | lost | in_flight"),
    Column("arrival_s", _F, "s", "arrival time, from the config's start"),
    Column("queued_s", _F, "s", "time the job joined its cluster's queue (after the data transfer)"),
    Column("start_s", _F, "s", "service start"),
    Column("end_s", _F, "s", "response back at the region (NaN unless completed)"),
    Column("network_s", _F, "s", "round-trip network time plus data transfer"),
    Column("wait_s", _F, "s", "time at the cluster not being served (queueing, preemption)"),
    Column("service_s", _F, "s", "service time of one real job"),
    Column("occupancy_s", _F, "s", "simulated-server seconds the job held"),
    Column("response_s", _F, "s", "network + wait + service (NaN unless completed)"),
    Column("data_gb", _F, "GB", "data moved before the job starts, per real job"),
    Column("job_scale", pa.int64(), "real jobs", "real jobs this simulated job stands for (its bundle size)"),
    Column("reroutes", pa.int32(), "", "times a fault moved the job"),
    Column("it_kwh", _F, "kWh", "dynamic IT energy of the job's service (real servers)"),
    Column("energy_kwh", _F, "kWh", "it_kwh x PUE of the serving cluster's hour"),
)

FLOWS_COLUMNS: tuple[Column, ...] = (
    Column("step", pa.int32(), "", "time step (engine.timestep_s) the row belongs to"),
    Column("time_s", _F, "s", "start of the segment (a step, or its part after a mid-step capacity change)"),
    Column("duration_s", _F, "s", "length of the segment"),
    Column("region", _ID, "", "origin region"),
    Column("class", _ID, "", "latency class"),
    Column(
        "cluster", _ID, "", "cluster that served or finally shed the requests (null: none could take them)"
    ),
    Column("requests", pa.int64(), "requests", "served + rejected"),
    Column("served", pa.int64(), "requests", "admitted and served"),
    Column("rejected", pa.int64(), "requests", "shed by admission control (or no cluster within the SLO)"),
    Column("mean_wait_s", _F, "s", "mean queueing wait at the cluster (Erlang C / Allen-Cunneen)"),
    Column("p95_wait_s", _F, "s", "95th percentile of the wait at the cluster"),
)

LATENCY_HIST_COLUMNS: tuple[Column, ...] = (
    Column("class", pa.string(), "", "latency class"),
    Column("lo_ms", _F, "ms", "lower edge of the bin of RTT + wait"),
    Column("hi_ms", _F, "ms", "upper edge of the bin"),
    Column("requests", _F, "requests", "served requests in the bin (expected count from the wait law)"),
)

TIMESERIES_COLUMNS: tuple[Column, ...] = (
    Column("time_s", _F, "s", "start of the step, from the config's start"),
    Column("cluster", _ID, "", "cluster: one server pool of a site (``<site>_gpu`` for its GPU pool)"),
    Column("site", _ID, "", "the physical site (data-centre cluster or metro area) of the pool"),
    Column("server_type", _ID, "", "cpu | gpu"),
    Column("utilisation", _F, "1", "busy share of the cluster's servers"),
    Column("busy_servers", _F, "real servers", "mean busy servers"),
    Column("powered_servers", _F, "real servers", "mean powered servers (online, or busy finishing a job)"),
    Column("booting_servers", _F, "real servers", "mean servers booting (switched on, not yet serving)"),
    Column("power_ups", _F, "real servers", "servers switched on in the step"),
    Column("power_downs", _F, "real servers", "servers switched off in the step"),
    Column("queue_len", _F, "real batch jobs", "mean batch jobs waiting (simulated x the pool's scale)"),
    Column("in_transfer", _F, "real batch jobs", "mean batch jobs moving their data (x the pool's scale)"),
    Column("latency_busy_servers", _F, "real servers", "mean servers busy with latency flows"),
    Column("latency_requests", _F, "requests", "latency requests that ended at the cluster in the step"),
    Column("latency_rejected", _F, "requests", "of which shed by admission control"),
    Column("it_power_kw", _F, "kW", "IT power (idle x powered + (peak - idle) x busy + boot_w x booting)"),
    Column("transition_kwh", _F, "kWh", "facility energy of booting servers (part of energy_kwh)"),
    Column("pue", _F, "1", "PUE of the step: facility / IT power, fixed overhead included"),
    Column("power_kw", _F, "kW", "facility power = IT power x PUE"),
    Column("tariff_cny_per_kwh", _F, "CNY/kWh", "electricity tariff of the hour"),
    Column(
        "grid_kgco2_per_kwh",
        _F,
        "kgCO2/kWh",
        "average grid factor of the hour on net grid draw (residual mix where green power is contracted)",
    ),
    Column(
        "marginal_kgco2_per_kwh", _F, "kgCO2/kWh", "marginal grid factor of the hour (NaN when none is given)"
    ),
    Column("green_kw", _F, "kW", "the site's green supply, shared by its pools' energy in the step"),
    Column("busy_pflops", _F, "PFLOPS", "busy servers x peak TFLOPS per server / 1000 (FP32 cpu, FP16 gpu)"),
    Column("energy_kwh", _F, "kWh", "facility energy of the step"),
    Column("grid_kwh", _F, "kWh", "facility energy not covered by green supply"),
    Column("cost_cny", _F, "CNY", "facility energy x tariff"),
    Column("tco2", _F, "tCO2", "grid energy x grid factor"),
    Column("tco2_marginal", _F, "tCO2", "grid energy x marginal factor (NaN when none is given)"),
    Column("planned_utilisation", _F, "1", "the plan's utilisation (NaN without a plan)"),
    Column("planned_energy_kwh", _F, "kWh", "the plan's facility energy (NaN without a plan)"),
    Column("planned_cost_cny", _F, "CNY", "the plan's cost (NaN without a plan)"),
    Column("planned_tco2", _F, "tCO2", "the plan's carbon (NaN without a plan)"),
)

PLAN_COLUMNS: tuple[Column, ...] = (
    Column("region", pa.string(), "", "origin region"),
    Column("class", pa.string(), "", "workload class"),
    Column("cluster", pa.string(), "", "cluster"),
    Column("hour", pa.int64(), "h", "hour of the run"),
    Column("work_sh", _F, "real server-hours", "work placed"),
    Column("energy_kwh", _F, "kWh", "facility energy, shared by the row's share of the cluster-hour load"),
    Column("cost_cny", _F, "CNY", "facility energy x tariff, shared out likewise"),
    Column("tco2", _F, "tCO2", "grid energy x grid factor, shared out likewise"),
)

SHADOW_PRICES_COLUMNS: tuple[Column, ...] = (
    Column("cluster", pa.string(), "", "cluster"),
    Column("hour", pa.int64(), "h", "hour of the run"),
    Column("capacity_cny_per_server_h", _F, "CNY per server-hour", "value of one more server for the hour"),
)

PLAN_DUALS_COLUMNS: tuple[Column, ...] = (
    Column("t0_hour", pa.int64(), "h", "first hour of the solve"),
    Column("kind", pa.string(), "", "slo | carbon_cap"),
    Column("class", pa.string(), "", "latency class (slo duals)"),
    Column("value", _F, "see unit", "the dual"),
    Column("unit", pa.string(), "", "unit of value"),
)

TABLES: dict[str, tuple[Column, ...]] = {
    JOBS: JOBS_COLUMNS,
    FLOWS: FLOWS_COLUMNS,
    LATENCY_HIST: LATENCY_HIST_COLUMNS,
    TIMESERIES: TIMESERIES_COLUMNS,
    PLAN: PLAN_COLUMNS,
    SHADOW_PRICES: SHADOW_PRICES_COLUMNS,
    PLAN_DUALS: PLAN_DUALS_COLUMNS,
}


def schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Arrow schema of a table's columns."""
    return pa.schema([(c.name, c.type) for c in columns])


def names(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns]


JOBS_SCHEMA = schema(JOBS_COLUMNS)
FLOWS_SCHEMA = schema(FLOWS_COLUMNS)
LATENCY_HIST_SCHEMA = schema(LATENCY_HIST_COLUMNS)


def table_from_frame(df: pd.DataFrame, file: str) -> pa.Table:
    """``df`` as an Arrow table with the columns and types of ``file``'s layout (if it has one)."""
    if file not in TABLES:
        return pa.Table.from_pandas(df, preserve_index=False)
    return pa.Table.from_pandas(df[names(TABLES[file])], schema=schema(TABLES[file]), preserve_index=False)


# --------------------------------------------------------------------------- reading


def is_run_dir(path: Path) -> bool:
    """A complete run folder: it holds ``summary.json``."""
    return (path / SUMMARY).is_file()


def is_sweep_dir(path: Path) -> bool:
    return (path / SWEEP_SUMMARY).is_file() and (path / SWEEP_SPEC).is_file()


def read_summary(run_dir: Path) -> dict[str, Any]:
    """``summary.json`` of ``run_dir``; InputError if it is not a complete run folder."""
    path = run_dir / SUMMARY
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found: not a complete run folder") from None
    except (OSError, ValueError) as exc:
        raise InputError(str(path), "", f"cannot read JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(str(path), "", "expected a JSON object")
    return doc


def read_config(run_dir: Path) -> dict[str, Any]:
    """``config.resolved.yaml`` as a dict (empty if the folder has none)."""
    import yaml

    path = run_dir / CONFIG
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(path), "", f"cannot read YAML: {exc}") from None
    return doc if isinstance(doc, dict) else {}


def read_table(
    run_dir: Path, file: str, columns: list[str] | None = None, missing_ok: bool = False
) -> pd.DataFrame:
    """A table of the run folder as a DataFrame (``missing_ok``: no file gives no rows)."""
    import pandas as pd

    path = run_dir / file
    if missing_ok and not path.is_file():
        cols = TABLES[file]
        df: pd.DataFrame = schema(cols).empty_table().to_pandas()
        return df[columns] if columns is not None else df
    try:
        return pd.read_parquet(path, columns=columns)
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found (is this a complete run folder?)") from None
    except Exception as exc:  # pyarrow raises many kinds
        raise InputError(str(path), "", f"cannot read Parquet: {exc}") from None


# --------------------------------------------------------------------------- writing into a folder


def check_out_dir(path: Path, force: bool = False, option: str = "--out") -> None:
    """Refuse to write a run into ``path`` if it is a file, or a non-empty folder that is no run's.

    A folder is an edwc run folder when it holds ``summary.json`` or
    ``config.resolved.yaml`` (a run that was interrupted). ``force`` allows
    any existing folder.
    """
    if not path.exists():
        return
    if not path.is_dir():
        raise InputError(option, str(path), "exists and is not a folder")
    if force or (path / SUMMARY).is_file() or (path / CONFIG).is_file():
        return
    entries = sorted(p.name for p in path.iterdir())
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise InputError(
            option,
            str(path),
            f"folder is not empty and is not an edwc run folder (holds {shown}); "
            "choose another folder, or pass --force to write into it",
        )
