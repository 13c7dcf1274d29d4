"""The planning LP: where and when forecast work should run (PuLP model, HiGHS solver).

The formulation is in ``docs/lp.md``. Modules, in the order data flows:

- :mod:`~models.plan.inputs`: :class:`PlanInputs` (arrays) and :class:`PlanWeights` (knobs);
- :mod:`~models.plan.pool`: exact pooling of batch demand whose paths cannot bind;
- :mod:`~models.plan.sparse`: :class:`SparseLP`, its layout and the block-by-block builder;
- :mod:`~models.plan.terms`: the objective, one function per cost term (build and report);
- :mod:`~models.plan.build`: the LP's blocks (``define_*``) and :func:`build_lp`;
- :mod:`~models.plan.solve`: PuLP (HiGHS, CBC) or a persistent warm-started highspy model;
- :mod:`~models.plan.result`: :class:`PlanResult`, the solution read back as arrays;
- :mod:`~models.plan.diagnose`: why a plan is infeasible or leaves work unserved;
- :mod:`~models.plan.planner`: :class:`RollingPlanner`, one window after another.
"""

from models.plan.inputs import PlanError, PlanInputs, PlanWeights
from models.plan.planner import RollingPlanner, solve_plan
from models.plan.result import PlanResult

__all__ = ["PlanError", "PlanInputs", "PlanResult", "PlanWeights", "RollingPlanner", "solve_plan"]
