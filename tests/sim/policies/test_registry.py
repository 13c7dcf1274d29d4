"""The policy registry: the planner is imported only for the policy that needs it."""

from __future__ import annotations

import subprocess
import sys

from sim.policies import policy_names
from sim.policies.registry import policy_class


def test_a_builtin_policy_does_not_import_the_planner() -> None:
    # a fresh interpreter: this one may have imported the planner in other tests
    code = (
        "import sys; from sim.policies.registry import policy_class; "
        "policy_class('nearest', 'test'); print('sim.policies.lp' in sys.modules, 'pulp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_lp_is_found_on_first_use() -> None:
    assert policy_class("lp", "test").name == "lp"
    assert "lp" in policy_names()
