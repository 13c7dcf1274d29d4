"""``edwc expand``: capacity expansion of a scenario over a representative year, and its validation.

- :mod:`~sim.expansion.year`: a config's target year as expansion inputs (typical days, growth,
  build costs, targets);
- :mod:`~sim.expansion.run`: :func:`expand`, periods, expansion.parquet and expansion.json;
- :mod:`~sim.expansion.validate`: the validation simulation of the expanded fleet.

The LP itself is :mod:`models.plan.expansion`.
"""

from sim.expansion.run import ExpandOutcome, expand

__all__ = ["ExpandOutcome", "expand"]
