"""Undoing what a generated example wrote, inside the test's transaction."""

import contextlib
from collections.abc import Iterator

from django.db import transaction


class _RolledBack(Exception):
    pass


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever the block writes is undone after it."""
    try:
        with transaction.atomic():
            yield
            raise _RolledBack
    except _RolledBack:
        pass
