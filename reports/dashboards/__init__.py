"""What the DMT dashboards read: `quarters` (the reviews to choose from),
`positions` (the teams at a quarter's end and today), `trends` and `people`."""
