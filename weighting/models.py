"""Weighting schemes, criteria, ratings and capacity."""
