from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"

    def ready(self) -> None:
        from payments.listeners import close_checkout_after_commit
        from waitlist.hooks import checkout_must_close

        checkout_must_close.connect(close_checkout_after_commit)
