from django.conf import settings
from django.db import models


class AuditLogEntry(models.Model):
    """One change that moved money or capacity: who, what, when, before and after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class FailedJob(models.Model):
    """A background job that failed for good: its error was permanent, or it ran out of
    retries. Kept for staff to read (and act on), since nothing will run it again."""

    task_name = models.CharField(max_length=200, db_index=True)
    task_id = models.CharField(max_length=64)
    arguments = models.JSONField(help_text="The job's positional and keyword arguments.")
    error_class = models.CharField(max_length=200)
    error_message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField()
    failed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-failed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.failed_at:%Y-%m-%d %H:%M} {self.task_name}: {self.error_class}"
