"""Data files shipped with the reports (province outlines); see SOURCE.md."""
