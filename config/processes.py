"""What the long-running processes (the web server's and Celery's workers)
set up for themselves beyond Django's settings."""

import gc

# Python's cyclic garbage collector runs after every 700 new container
# objects by default. A page of a large service makes tens of thousands
# (each worker's numbers, the rows of its tables and charts) and an analysis
# of a council millions, so the collector ran dozens of times a request and
# now and then walked every long-lived object: a third of the service
# overview's p95 at 90 teams, 6% of the national analysis. These processes
# collect after 20,000 instead (docs/benchmarks.md); what this holds a little
# longer is a few megabytes at most.
GC_THRESHOLD = (20_000, 10, 10)


def tune_garbage_collection() -> None:
    gc.set_threshold(*GC_THRESHOLD)
