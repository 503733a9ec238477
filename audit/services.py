import json
import traceback
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from audit.models import AuditLogEntry, FailedJob


def audit_row(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """An unsaved audit row, for record_changes."""
    return AuditLogEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        before=before,
        after=after,
    )


def record_change(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Write one audit row; call it inside the transaction that makes the change."""
    row = audit_row(actor=actor, action=action, target=target, before=before, after=after)
    row.save()
    return row


def record_changes(rows: list[AuditLogEntry]) -> None:
    """Write several audit rows in one statement, in order (hot paths under a lock)."""
    AuditLogEntry.objects.bulk_create(rows)


class _ArgumentsEncoder(DjangoJSONEncoder):
    """A job's arguments as JSON; what JSON cannot hold is kept as its repr."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return repr(o)


def record_failed_job(
    *,
    task_name: str,
    task_id: str,
    args: tuple[Any, ...] | list[Any],
    kwargs: dict[str, Any],
    error: BaseException,
    attempts: int,
) -> FailedJob:
    """Write one row for a job that failed for good, with the error and its traceback."""
    arguments = json.loads(
        json.dumps({"args": list(args), "kwargs": kwargs}, cls=_ArgumentsEncoder)
    )
    error_type = type(error)
    module = "" if error_type.__module__ == "builtins" else error_type.__module__ + "."
    return FailedJob.objects.create(
        task_name=task_name,
        task_id=task_id,
        arguments=arguments,
        error_class=module + error_type.__qualname__,
        error_message=str(error),
        traceback="".join(traceback.format_exception(error)),
        attempts=attempts,
    )
