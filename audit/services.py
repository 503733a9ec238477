from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from audit.models import AuditLogEntry


def record_change(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Write one audit row; call it inside the transaction that makes the change."""
    return AuditLogEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        before=before,
        after=after,
    )
