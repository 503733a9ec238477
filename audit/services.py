from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from audit.models import AuditLogEntry


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
