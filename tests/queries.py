"""Counting a job's statements the same way on SQLite and PostgreSQL."""

from django.test.utils import CaptureQueriesContext


def statements(captured: CaptureQueriesContext) -> int:
    """The statements run, with each table's bulk insert counted once: SQLite
    takes at most 999 parameters a statement, so Django splits one bulk insert
    into batches there, as many as the rows need."""
    heads = [query["sql"].split(" (", 1)[0] for query in captured]
    inserts = [head for head in heads if head.startswith("INSERT INTO")]
    return len(heads) - len(inserts) + len(set(inserts))
