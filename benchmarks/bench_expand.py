"""Expansion speed: the national 2030 expansion with k typical days against the 60-second goal.

    python benchmarks/bench_expand.py [--k 12] [--solver highs|highspy] [--carbon-price P]

Builds the representative year of ``configs/expansion_2030.yaml`` (365 days of demand,
PUE, tariff, grid and green profiles clustered into k typical days + the peak day),
then builds and solves the expansion LP. Prints the model size (variables, constraints,
non-zeros), the aggregation time, build and solve time (wall and this process's CPU
time: on a shared machine wall time includes waiting for a core), and the ratio to 60 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.plan.expansion import solve_expansion
from models.plan.expansion.build import build_expansion
from sim.config_io import load_config
from sim.expansion.year import expansion_weights, year_model

GOAL_S = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--solver", default="highs", choices=["highs", "highspy"])
    ap.add_argument("--carbon-price", type=float, default=None)
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    path = root / "configs" / "expansion_2030.yaml"
    sets = [f"expansion.typical_days={args.k}"]
    if args.carbon_price is not None:
        sets.append(f"energy.carbon_price_cny_per_t={args.carbon_price}")
    cfg = load_config(path, sets)
    w0, c0 = time.perf_counter(), time.process_time()
    ym = year_model(cfg, str(path), cfg.expansion.target_years[-1] if cfg.expansion else 2030)
    agg_wall, agg_cpu = time.perf_counter() - w0, time.process_time() - c0
    weights = expansion_weights(cfg)
    lp = build_expansion(ym.inputs, weights).lp
    w1, c1 = time.perf_counter(), time.process_time()
    res = solve_expansion(ym.inputs, weights, solver=args.solver)
    wall, cpu = time.perf_counter() - w1, time.process_time() - c1
    print(f"national expansion {ym.year}: k = {args.k} typical days (+ peak day) -> {ym.typical.k} days")
    print(f"  model: {lp.n_cols:,} variables, {lp.n_rows:,} constraints, {len(lp.data):,} non-zeros")
    print(f"  aggregation (scenario year + tsam): {agg_wall:.1f} s wall, {agg_cpu:.1f} s CPU")
    print(
        f"  build + solve ({args.solver}): {wall:.1f} s wall, {cpu:.1f} s CPU of this process "
        f"(solve {res.solve_s:.1f} s, build {res.build_s:.1f} s); status {res.status}"
    )
    print(f"  goal {GOAL_S:.0f} s: wall / goal = {wall / GOAL_S:.2f}, CPU / goal = {cpu / GOAL_S:.2f}")
    print(f"  new servers {res.new_servers.sum():,.0f}; annual cost {res.objective_cny / 1e9:,.1f} bn CNY")


if __name__ == "__main__":
    main()
