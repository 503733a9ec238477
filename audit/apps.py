from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from huey.contrib.djhuey import HUEY

        from audit import failed_jobs

        failed_jobs.connect(HUEY)
