"""The capacity-expansion LP: where to build servers (and path bandwidth) over a representative year.

Formulation in ``docs/expansion.md``. Modules, in the order data flows:

- :mod:`~models.plan.expansion.inputs`: :class:`ExpansionInputs` (typical days, costs, limits)
  and :class:`Targets` (the programme's targets);
- :mod:`~models.plan.expansion.build`: the operating LP of each typical day, stacked, sharing
  the build columns, plus annual target rows;
- :mod:`~models.plan.expansion.solve`: :func:`solve_expansion` and the target diagnosis;
- :mod:`~models.plan.expansion.result`: :class:`ExpansionResult`.
"""

from models.plan.expansion.inputs import ExpansionInputs, Targets
from models.plan.expansion.result import ExpansionResult
from models.plan.expansion.solve import diagnose_targets, solve_expansion

__all__ = [
    "ExpansionInputs",
    "ExpansionResult",
    "Targets",
    "diagnose_targets",
    "solve_expansion",
]
