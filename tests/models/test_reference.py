"""The reference data in seeds/: it loads, it is sourced, and bad edits are caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from models.errors import InputError
from models.paths import seeds_dir
from models.reference import Figure, load_reference
from tests.helpers import CLUSTER_IDS

HUB_IDS = [
    "jingjinji",
    "yangtze_delta",
    "greater_bay_area",
    "chengdu_chongqing",
    "inner_mongolia",
    "guizhou",
    "gansu",
    "ningxia",
]


def test_reference_has_the_programme_sites() -> None:
    ref = load_reference()
    assert [c.id for c in ref.clusters] == CLUSTER_IDS
    assert sorted(h.id for h in ref.hubs) == sorted(HUB_IDS)
    assert {ref.hub(c.hub).side for c in ref.clusters} == {"east", "west"}
    west = {c.id for c in ref.clusters if ref.cluster_side(c) == "west"}
    assert west == {"guian", "helingeer", "qingyang", "zhongwei"}
    assert len(ref.regions) >= 20


def test_every_figure_is_sourced_and_graded() -> None:
    ref = load_reference()
    n = 0
    for group in (ref.clusters, list(ref.provinces.values()), ref.regions, ref.workloads):
        for item in group:
            for name in type(item).model_fields:
                fig = getattr(item, name)
                if isinstance(fig, Figure):
                    n += 1
                    src = ref.sources[fig.source]
                    assert src.title and src.grade in "ABCDE"
                    if src.grade in "DE":
                        assert fig.estimate, f"{item}.{name}"
    assert n > 200


def test_western_clusters_are_greener_and_cheaper_on_paper() -> None:
    ref = load_reference()
    for c in ref.clusters:
        limit = 1.25 if ref.cluster_side(c) == "east" else 1.2
        assert c.pue_annual_mean.scalar <= limit


def _copy_seeds(tmp_path: Path) -> Path:
    dst = tmp_path / "seeds"
    shutil.copytree(seeds_dir(), dst)
    return dst


def _edit(path: Path, key: str, mutate: object) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(doc[key])  # type: ignore[operator]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "key", "mutate", "needle"),
    [
        ("clusters.yaml", "clusters", lambda cs: cs[0]["lat"].update(value=80.0), "clusters[0].lat"),
        ("clusters.yaml", "clusters", lambda cs: cs[1].update(hub="atlantis"), "clusters[1].hub"),
        ("clusters.yaml", "clusters", lambda cs: cs[2]["servers"].update(value=-5), "clusters[2].servers"),
        (
            "clusters.yaml",
            "clusters",
            lambda cs: cs[0]["pue_annual_mean"].update(value=2.5),
            "pue_annual_mean",
        ),
        ("clusters.yaml", "clusters", lambda cs: cs[0].update(colour="red"), "clusters[0].colour"),
        (
            "clusters.yaml",
            "clusters",
            lambda cs: cs[3]["servers"].update(source="nowhere"),
            "clusters[3].servers.source",
        ),
        (
            "provinces.yaml",
            "provinces",
            lambda ps: ps[0]["grid_kgco2_per_kwh"].update(value=7.0),
            "grid_kgco2_per_kwh",
        ),
        ("regions.yaml", "regions", lambda rs: rs[0]["lon"].update(value=10.0), "regions[0].lon"),
        (
            "sources.yaml",
            "sources",
            lambda ss: next(s for s in ss if s["id"] == "compiler_estimate").update(grade="A"),
            None,
        ),
    ],
)
def test_bad_edit_is_reported_with_file_and_key(
    tmp_path: Path, file: str, key: str, mutate: object, needle: str | None
) -> None:
    root = _copy_seeds(tmp_path)
    _edit(root / file, key, mutate)
    if needle is None:
        load_reference(root)  # regrading a source upward is allowed; it only loosens the rule
        return
    with pytest.raises(InputError) as err:
        load_reference(root)
    assert needle in err.value.render()
    assert file in err.value.render()


def test_estimate_flag_is_enforced_for_weak_sources(tmp_path: Path) -> None:
    root = _copy_seeds(tmp_path)

    def unflag(cs: list[dict[str, object]]) -> None:
        for c in cs:
            fig = c["servers"]
            assert isinstance(fig, dict)
            if fig["source"] == "compiler_estimate":
                fig["estimate"] = False
                return

    _edit(root / "clusters.yaml", "clusters", unflag)
    with pytest.raises(InputError, match="estimate: true"):
        load_reference(root)
