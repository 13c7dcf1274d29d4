"""Where the reference data (``seeds/``) and the scenario library live.

In a source checkout (or an editable install) they are the top-level
``seeds/`` and ``configs/`` folders next to ``models/``. A built wheel
carries copies at ``models/_seeds`` and ``sim/_configs`` (see
``pyproject.toml``); both layouts are searched, source tree first.
"""

from __future__ import annotations

from pathlib import Path

_PKG_DIR = Path(__file__).resolve().parent
_ROOT = _PKG_DIR.parent


def seeds_dir() -> Path:
    """The folder holding the reference data files."""
    for candidate in (_ROOT / "seeds", _PKG_DIR / "_seeds"):
        if (candidate / "clusters.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        "edwc reference data not found: looked for seeds/ beside the package and "
        f"models/_seeds inside it ({_ROOT / 'seeds'}, {_PKG_DIR / '_seeds'})"
    )


def configs_dir() -> Path:
    """The folder holding the built-in scenario configs."""
    for candidate in (_ROOT / "configs", _ROOT / "sim" / "_configs"):
        if (candidate / "baseline.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        "edwc scenario configs not found: looked for configs/ beside the package and "
        f"sim/_configs inside it ({_ROOT / 'configs'}, {_ROOT / 'sim' / '_configs'})"
    )
