from django.contrib import admin

from audit.models import AuditLogEntry, FailedJob


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record for staff to read: nobody adds, edits or deletes one here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "object_type", "object_id", "actor"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor__email"]
    readonly_fields = [f.name for f in AuditLogEntry._meta.fields]


@admin.register(FailedJob)
class FailedJobAdmin(ReadOnlyAdmin):
    """Jobs that failed for good, for staff to read; nothing here runs them again."""

    list_display = ["failed_at", "task_name", "error_class", "error_message", "attempts"]
    list_filter = ["task_name", "error_class"]
    search_fields = ["task_name", "task_id", "error_class", "error_message", "arguments"]
    date_hierarchy = "failed_at"
    readonly_fields = [f.name for f in FailedJob._meta.fields]
