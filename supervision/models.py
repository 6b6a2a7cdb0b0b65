"""Supervision records and the caseload analysis within them."""
