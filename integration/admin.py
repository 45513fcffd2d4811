from django.contrib import admin

from tradingrobot.admin_base import ReadOnlyAdmin

from .models import BackfillWindow, FeedStatus


@admin.register(FeedStatus)
class FeedStatusAdmin(ReadOnlyAdmin):
    list_display = ["kind", "last_success_at", "last_attempt_at", "consecutive_failures", "last_error_code"]


@admin.register(BackfillWindow)
class BackfillWindowAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "start", "end", "rows", "skipped", "completed_at"]
    list_filter = ["symbol"]
    date_hierarchy = "start"

    def has_delete_permission(self, request, obj=None):
        return True  # deleting a window makes the next backfill fetch it again
