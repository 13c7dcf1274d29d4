"""The Python API: :func:`run`, :func:`load` and :func:`sweep`, for notebooks and scripts.

Everything the ``edwc`` command does is reachable from Python, and every
table of a run folder comes back as a :class:`pandas.DataFrame`::

    >>> from sim import run
    >>> res = run("configs/baseline.yaml", set={"horizon_h": 6}, out="runs/six_hours")
    >>> res.summary["cost_cny"]                               # doctest: +SKIP
    >>> res.timeseries.groupby("cluster", observed=True).utilisation.mean()  # doctest: +SKIP

A :class:`Result` is a view of a run folder on disk: the summary is read at
once, the Parquet tables when first asked for. :func:`load` opens a folder
written earlier (by Python or by ``edwc run``); :func:`sweep` runs a parameter
sweep and returns its summary table, one row per run.

Bad input (a config, a ``set`` value, a folder) raises
:class:`models.errors.InputError`, whose message names the file, the key path
and what was expected: the same message the CLI prints before exiting with
code 2.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import InputError
from sim.runfolder import layout

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Config
    from sim.report.pool_scales import PoolScale

__all__ = ["Result", "load", "run", "sweep"]

PathLike = str | os.PathLike[str]
Sets = Mapping[str, Any] | Sequence[str]


class Result:
    """One run folder, with its summary and its tables as pandas DataFrames.

    Made by :func:`run` or :func:`load`; the tables are read from the folder
    the first time they are used and then kept. Every attribute mirrors a file
    of the run folder described in the README ("The run folder").

    Parameters
    ----------
    out_dir : path
        The run folder (must hold ``summary.json``).

    Attributes
    ----------
    out_dir : pathlib.Path
        The run folder.
    summary : dict
        ``summary.json``: counts (``jobs_total`` = ``jobs_completed`` +
        ``jobs_dropped`` + ``jobs_in_flight``), per-class latency
        percentiles (``summary["classes"][name]["latency_ms"]["p95"]``),
        per-cluster utilisation, energy, cost and carbon, totals
        ``energy_kwh``, ``cost_cny``, ``tco2``, the east/west split.

    Examples
    --------
    Mean utilisation per cluster and the share of compute served in the west:

    >>> res = load("runs/baseline")                           # doctest: +SKIP
    >>> res.timeseries.groupby("cluster", observed=True)["utilisation"].mean()  # doctest: +SKIP
    >>> res.summary["east_west"]["west"]["share_of_served_compute"]  # doctest: +SKIP
    """

    def __init__(self, out_dir: PathLike) -> None:
        self.out_dir = Path(out_dir)
        self.summary: dict[str, Any] = layout.read_summary(self.out_dir)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"Result({str(self.out_dir)!r}: {s.get('name')}, policy {s.get('policy')}, "
            f"{s.get('horizon_h')} h, {s.get('jobs_total')} jobs)"
        )

    @cached_property
    def jobs(self) -> pd.DataFrame:
        """``jobs.parquet``: one row per simulated batch job (latency classes are in :attr:`flows`).

        Columns (units in their names): ``job_id``, ``class``, ``region``,
        ``cluster``, ``status`` (completed, dropped, lost, in_flight),
        ``arrival_s``, ``queued_s``, ``start_s``, ``end_s``, ``network_s``,
        ``wait_s``, ``service_s``, ``occupancy_s``, ``response_s``,
        ``data_gb``, ``job_scale`` (real jobs per simulated job),
        ``reroutes``, ``it_kwh``, ``energy_kwh``. Times are seconds from the
        config's ``start``; ``class``, ``region``, ``cluster`` and ``status``
        are categoricals. Rows are grouped by the simulated day a job left
        the system: sort by ``job_id`` for arrival order.
        """
        return layout.read_table(self.out_dir, layout.JOBS)

    @cached_property
    def flows(self) -> pd.DataFrame:
        """``flows.parquet``: latency classes as request flows, per time step, region, class and cluster.

        Columns: ``step``, ``time_s`` and ``duration_s`` (a step, or part of
        one when capacity changed mid-step), ``region``, ``class``,
        ``cluster`` (null: no cluster could take the requests), ``requests``
        = ``served`` + ``rejected``, and the cluster's ``mean_wait_s`` and
        ``p95_wait_s`` (Erlang C on the real server count). Empty for runs
        without latency classes.
        """
        return layout.read_table(self.out_dir, layout.FLOWS, missing_ok=True)

    @cached_property
    def latency_hist(self) -> pd.DataFrame:
        """``latency_hist.parquet``: each latency class's histogram of RTT + wait.

        Columns: ``class``, ``lo_ms``, ``hi_ms`` (bin edges), ``requests`` (served requests in the bin).
        """
        return layout.read_table(self.out_dir, layout.LATENCY_HIST, missing_ok=True)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """``timeseries.parquet``: per cluster and time step (``engine.timestep_s``).

        Columns: ``time_s`` (start of the step), ``cluster``, ``utilisation``,
        ``busy_servers``, ``powered_servers``, ``queue_len``, ``in_transfer``,
        ``latency_busy_servers``, ``latency_requests``, ``latency_rejected``,
        ``it_power_kw``, ``pue``, ``power_kw``, ``tariff_cny_per_kwh``,
        ``grid_kgco2_per_kwh``, ``green_kw``, ``energy_kwh``, ``grid_kwh``,
        ``cost_cny``, ``tco2`` and the plan's ``planned_*`` values (NaN
        without a plan).
        """
        return layout.read_table(self.out_dir, layout.TIMESERIES)

    @cached_property
    def plan(self) -> pd.DataFrame:
        """``plan.parquet``: the LP's executed decisions, one row per region, class, cluster and hour.

        Columns: ``region``, ``class``, ``cluster``, ``hour``, ``work_sh``
        (real server-hours), ``energy_kwh``, ``cost_cny``, ``tco2``. Empty
        (same columns, no rows) when the run's policy made no plan.
        """
        return layout.read_table(self.out_dir, layout.PLAN, missing_ok=True)

    @cached_property
    def shadow_prices(self) -> pd.DataFrame:
        """``shadow_prices.parquet``: capacity duals per cluster-hour (empty without a plan)."""
        return layout.read_table(self.out_dir, layout.SHADOW_PRICES, missing_ok=True)

    @cached_property
    def config(self) -> dict[str, Any]:
        """``config.resolved.yaml``: the full config after defaults and overrides, as a dict."""
        return layout.read_config(self.out_dir)

    def pool_scales(self, tolerance: float = 0.02) -> list[PoolScale]:
        """Each pool's largest honest ``engine.pool_job_scale`` at this run's loads and streams
        (:func:`sim.report.pool_scales.pool_scales`; ``edwc pool-scales``)."""
        from sim.report.pool_scales import pool_scales

        return pool_scales(self.out_dir, tolerance=tolerance)

    def report(self, out_dir: PathLike | None = None) -> Path:
        """Draw the run's report (``report.html`` and its PNG figures).

        Parameters
        ----------
        out_dir : path, optional
            Where to write the report (default: the run folder).

        Returns
        -------
        pathlib.Path
            The path of ``report.html``.
        """
        from sim.report.write import write_run_report

        return write_run_report(self.out_dir, None if out_dir is None else Path(out_dir))


def load(run_dir: PathLike) -> Result:
    """Open a run folder written earlier by :func:`run` or ``edwc run``.

    Parameters
    ----------
    run_dir : path
        A folder holding ``summary.json`` (a complete run).

    Returns
    -------
    Result
        The run's summary; its tables are read when first used.

    Raises
    ------
    models.errors.InputError
        If ``run_dir`` is not a complete run folder.
    """
    return Result(run_dir)


def run(
    config: PathLike | Mapping[str, Any] | Config,
    *,
    seed: int | None = None,
    set: Sets | None = None,
    out: PathLike | None = None,
    report: bool = False,
    force: bool = False,
) -> Result:
    """Simulate one scenario and write its run folder.

    Parameters
    ----------
    config : path, dict or Config
        A config file (YAML), a config as a dict (the YAML's structure), or
        a validated :class:`sim.config.Config`. Relative paths inside a dict
        config (traces, green profiles) are taken from the current folder.
    seed : int, optional
        Overrides the config's ``seed``. The same config and seed give
        byte-identical tables.
    set : dict or list of str, optional
        Overrides of single values, as ``{"policy.name": "lp", "horizon_h": 6}``
        (dotted key paths; list items by index: ``"workloads.0.rate_per_h"``)
        or as the CLI's ``["policy.name=lp", "horizon_h=6"]`` (values read as YAML).
    out : path, optional
        The run folder (default: the config's ``output.dir``, else
        ``runs/<name>``, as ``edwc run``). A non-empty folder that is not an
        edwc run folder is refused unless ``force``.
    report : bool, default False
        Also draw ``report.html`` and its figures (a few seconds).
    force : bool, default False
        Write into ``out`` even if it holds files that are not a run's.

    Returns
    -------
    Result
        The run folder's summary and (lazily read) tables.

    Raises
    ------
    models.errors.InputError
        For a bad config or override (the message names the key path).

    Examples
    --------
    A six-hour national run under the LP planner, then its cost per cluster:

    >>> res = run("configs/baseline.yaml", set={"policy.name": "lp", "horizon_h": 6},
    ...           out="runs/lp6")                             # doctest: +SKIP
    >>> res.timeseries.groupby("cluster", observed=True)["cost_cny"].sum()  # doctest: +SKIP
    """
    from sim.config import Config
    from sim.config_io import apply_set, load_config, parse_set, validate_config
    from sim.runner import run as run_folder

    base_dir = Path.cwd()
    items = _set_items(set) + ([f"seed={seed}"] if seed is not None else [])
    if isinstance(config, Config | Mapping):
        doc: dict[str, Any] = (
            config.model_dump(mode="json", exclude_none=True)
            if isinstance(config, Config)
            else copy.deepcopy(dict(config))
        )
        source = "<config>" + (" (with set)" if items else "")
        for item in items:
            parts, value = parse_set(item)
            apply_set(doc, parts, value, origin="set")
        cfg = validate_config(doc, source)
    else:
        path = Path(config)
        cfg = load_config(path, items)
        source = str(path)
        base_dir = path.parent
    result = run_folder(cfg, source, None if out is None else Path(out), base_dir=base_dir, force=force)
    if report:
        from sim.report.write import write_run_report

        write_run_report(result.out_dir)
    return Result(result.out_dir)


def _set_items(sets: Sets | None) -> list[str]:
    """``set`` as the CLI's ``KEY.PATH=VALUE`` strings (mapping values are written as YAML)."""
    if sets is None:
        return []
    if isinstance(sets, str):
        raise InputError("set", sets, "expected a dict of key path -> value, or a list of KEY.PATH=VALUE")
    if isinstance(sets, Mapping):
        import yaml

        out = []
        for key, value in sets.items():
            text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
            out.append(f"{key}={text.removesuffix('...').strip()}")
        return out
    return [str(s) for s in sets]


def sweep(
    spec: PathLike | Mapping[str, Any],
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    set: Mapping[str, Any] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    out: PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    report: bool = False,
) -> pd.DataFrame:
    """Run a parameter sweep and return its summary table.

    Parameters
    ----------
    spec : path or dict
        A sweep spec file (top-level ``base`` and ``axes``; see the README's
        "Sweeps"), a config file (then ``grid`` gives the axes), or a spec
        as a dict (its ``base`` relative to the current folder).
    grid : dict, optional
        Grid axes added to the spec: key path -> list of values, e.g.
        ``{"policy.name": ["nearest", "lp"]}``. Every combination is run.
    set : dict, optional
        Fixed overrides of the base config (key path -> value).
    replications : int, optional
        Runs per point, each with its own seed derived from the sweep seed.
    seed : int, optional
        The sweep seed.
    out : path, optional
        The sweep folder (default: ``sweeps/<name>``). Re-running a sweep
        into the same folder skips the runs already complete.
    workers : int, optional
        Local worker processes (default: the number of cores).
    scheduler : str, optional
        ``"tcp://HOST:PORT"`` of a Dask scheduler, or ``"local"``.
    report : bool, default False
        Also draw the sweep's ``report.html``.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run_id``, one column per axis, ``replication``,
        ``seed``, ``status`` (ok | failed), ``error``, and every scalar of
        the run's ``summary.json`` under its dotted key
        (``classes.web.latency_ms.p95``). ``df.attrs["out_dir"]`` is the
        sweep folder; each run's folder is ``<out_dir>/runs/<run_id>``,
        readable with :func:`load`.

    Examples
    --------
    Two policies, three replications each, and the mean cost per policy:

    >>> df = sweep("configs/baseline.yaml", grid={"policy.name": ["nearest", "lp"]},
    ...            set={"horizon_h": 6}, replications=3)      # doctest: +SKIP
    >>> df.groupby("policy.name")["cost_cny"].agg(["mean", "std"])  # doctest: +SKIP
    """
    import pandas as pd

    from sim.config_io import read_yaml_mapping
    from sim.sweeps.driver import run_sweep
    from sim.sweeps.spec import is_spec, parse_spec

    if isinstance(spec, Mapping):
        doc = copy.deepcopy(dict(spec))
        path = Path.cwd() / f"{doc.get('name', 'sweep')}.yaml"
    else:
        path = Path(spec)
        doc = read_yaml_mapping(path)
        if not is_spec(doc):  # a config: the sweep's base
            doc = {"name": path.stem, "base": path.name}
    if grid:
        if doc.get("mode", "grid") != "grid":
            raise InputError(str(path), "mode", f"grid axes need a grid sweep (the spec is {doc['mode']})")
        doc["axes"] = {**(doc.get("axes") or {}), **{k: list(v) for k, v in grid.items()}}
    if set:
        doc["set"] = {**(doc.get("set") or {}), **set}
    if replications is not None:
        doc["replications"] = replications
    if seed is not None:
        doc["seed"] = seed
    parsed = parse_spec(doc, path)
    folder = Path(out) if out is not None else Path("sweeps") / parsed.name
    result = run_sweep(parsed, folder, workers=workers, scheduler=scheduler)
    if report:
        from sim.report.write import write_report

        write_report(result.out_dir)
    df = pd.read_parquet(result.out_dir / layout.SWEEP_SUMMARY)
    df.attrs["out_dir"] = result.out_dir
    return df
