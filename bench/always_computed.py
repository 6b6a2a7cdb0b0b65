"""TEMPORARY, bench only: every page computed on every request.

The cache of pages and parts (caseload/changes.py) is being removed; until
it is, the benchmark switches it off in its own process and in the gunicorn
it starts (bench/wsgi.py), so that it measures the pages as they
will be: `changes.keeps()` answers False, and `changes.versions()` reads
nothing (the overview asks for the versions before it asks whether to
keep). Delete this file, and its calls in bench/scale.py and bench/wsgi.py,
when caseload/changes.py is gone.
"""


def apply() -> None:
    try:
        from caseload import changes
    except ImportError:  # the cache is gone: nothing to switch off
        return
    changes.keeps = lambda: False
    changes.versions = lambda team_ids=(): changes.Versions()
