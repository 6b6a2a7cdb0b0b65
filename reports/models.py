"""Caseload snapshots, 12-week analyses and quarterly reviews."""
