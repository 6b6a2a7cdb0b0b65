"""The admin's change history (django-simple-history): each change with who
made it, and each past version, shown and never reverted."""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    def history_view(self, request, object_id, extra_context=None):  # type: ignore[no-untyped-def]
        # An id that is not a record's (or not a number) is the admin's usual
        # "not found" redirect, as on the change page, not a server error.
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):  # type: ignore[no-untyped-def]
        # SIMPLE_HISTORY_REVERT_DISABLED hides the button; a post would still revert.
        if request.method == "POST":
            raise PermissionDenied
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)
