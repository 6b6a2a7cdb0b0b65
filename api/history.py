"""The change history of records written through the API names the system
that wrote them, as a page's names the person."""

from __future__ import annotations

from typing import Any

from caseload import audit


def name_the_system(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """A history row written while a system acts says which one, in its
    change reason (there is no log-in to name as its user)."""
    system = audit.acting_system()
    if system and not history_instance.history_change_reason:
        history_instance.history_change_reason = system[:100]
