"""The DMT pages' presenters: `pages` (the overview, team and person
dashboards), built from `tables` and `figures`."""
