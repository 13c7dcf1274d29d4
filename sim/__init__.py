"""edwc's engine and entry points: simulation, policies, metrics, sweeps, reports, CLI."""
