"""Build costs from ``seeds/capex.yaml``: annualised capex per server and per Gbit/s, planned scale.

Every figure carries its source (``seeds/sources.yaml``); grades D-E must be flagged
``estimate: true``, as in the rest of the reference data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from models.errors import InputError
from models.paths import seeds_dir
from models.reference import Figure, Reference, _parse, _read_yaml, national_reference

__all__ = ["CapexData", "capital_recovery_factor", "load_capex", "national_capex"]

CAPEX_FILE = "capex.yaml"


class _Capex(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    server_capex_cny: Figure
    gpu_server_it_capex_cny: Figure
    it_share_of_capex: Figure
    it_life_years: Figure
    facility_life_years: Figure
    discount_rate: Figure
    capex_decline_per_year: Figure
    bandwidth_cny_per_gbps_year: Figure


def capital_recovery_factor(rate: float, years: float) -> float:
    """Share of an investment paid each year to repay it over ``years`` at ``rate`` (an annuity)."""
    if years <= 0:
        raise ValueError("an asset life must be > 0 years")
    if rate == 0:
        return 1.0 / years
    return float(rate / (1.0 - (1.0 + rate) ** -years))


@dataclass(frozen=True)
class CapexData:
    """The build-cost figures, with the annualised values derived from them."""

    figures: dict[str, Figure]
    planned_servers: dict[str, Figure]

    def value(self, name: str) -> float:
        return self.figures[name].scalar

    @property
    def server_cny_per_year(self) -> float:
        """Annualised capex of one server: IT and facility parts repaid over their own lives."""
        rate = self.value("discount_rate")
        it = self.value("it_share_of_capex")
        crf_it = capital_recovery_factor(rate, self.value("it_life_years"))
        crf_fac = capital_recovery_factor(rate, self.value("facility_life_years"))
        return self.value("server_capex_cny") * (it * crf_it + (1.0 - it) * crf_fac)

    def gpu_server_cny_per_year(self, gpu_peak_w: float, cpu_peak_w: float) -> float:
        """Annualised capex of one new GPU server.

        Its IT part is ``gpu_server_it_capex_cny``; its facility part (building,
        power, cooling) is the CPU server's facility capex per kW of peak IT power,
        times the GPU server's peak power: a site is built for the power it feeds.
        """
        rate = self.value("discount_rate")
        it_share = self.value("it_share_of_capex")
        crf_it = capital_recovery_factor(rate, self.value("it_life_years"))
        crf_fac = capital_recovery_factor(rate, self.value("facility_life_years"))
        facility_per_w = self.value("server_capex_cny") * (1.0 - it_share) / max(cpu_peak_w, 1e-9)
        return self.value("gpu_server_it_capex_cny") * crf_it + facility_per_w * gpu_peak_w * crf_fac

    @property
    def decline_per_year(self) -> float:
        return self.value("capex_decline_per_year")

    @property
    def bandwidth_cny_per_gbps_year(self) -> float:
        return self.value("bandwidth_cny_per_gbps_year")


def load_capex(directory: Path | None = None, ref: Reference | None = None) -> CapexData:
    """Read and check ``capex.yaml`` of ``directory`` (default: ``seeds/``)."""
    root = directory if directory is not None else seeds_dir()
    path = root / CAPEX_FILE
    raw = _read_yaml(path, "capex")
    figs = _parse(_Capex, raw, path, "capex")
    doc_planned = _read_yaml(path, "planned_servers")
    if not isinstance(doc_planned, dict):
        raise InputError(str(path), "planned_servers", "expected a mapping of cluster id -> figure")
    planned = {str(k): _parse(Figure, v, path, f"planned_servers.{k}") for k, v in doc_planned.items()}
    figures = {name: getattr(figs, name) for name in type(figs).model_fields}
    reference = ref or national_reference()
    for key, fig in [
        *(("capex." + k, f) for k, f in figures.items()),
        *(("planned_servers." + k, f) for k, f in planned.items()),
    ]:
        src = reference.sources.get(fig.source)
        if src is None:
            raise InputError(str(path), f"{key}.source", f"unknown source id '{fig.source}'")
        if src.grade in ("D", "E") and not fig.estimate:
            raise InputError(
                str(path), key, f"source '{src.id}' has grade {src.grade}: must be estimate: true"
            )
    ids = {c.id for c in reference.clusters}
    for k in planned:
        if k not in ids:
            raise InputError(
                str(path), f"planned_servers.{k}", f"unknown cluster; expected one of {sorted(ids)}"
            )
    return CapexData(figures=figures, planned_servers=planned)


@cache
def national_capex() -> CapexData:
    """The built-in build costs, loaded once per process."""
    return load_capex()
