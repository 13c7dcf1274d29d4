"""Energy per site and hour: weather, PUE, tariffs, grid carbon, renewables, accounting.

- :mod:`~models.energy.weather`: synthetic hourly outdoor temperature;
- :mod:`~models.energy.pue`: PUE as a function of temperature, calibrated to an annual mean;
- :mod:`~models.energy.tariffs`: time-of-use prices and grid carbon factors;
- :mod:`~models.energy.renewables`: synthetic solar and wind, or user green profiles;
- :mod:`~models.energy.site`: :class:`SiteEnergy` (the hourly arrays) and :func:`account`.
"""

from models.energy.site import EnergyTotals, ServerPower, SiteEnergy, account, build_site_energy

__all__ = ["EnergyTotals", "ServerPower", "SiteEnergy", "account", "build_site_energy"]
