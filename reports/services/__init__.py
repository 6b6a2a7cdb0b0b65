"""The scheduled analyses and the DMT's records, a module per job:
`snapshots` (daily snapshots, back-fills, recomputes), `analyses` (12-week
analyses), `escalations`, `reviews` (quarterly reviews), `daily` (the day's
jobs in order) and `dmt` (capacity issues and decisions)."""
