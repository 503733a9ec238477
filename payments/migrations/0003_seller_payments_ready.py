"""Copy each organiser's charges_enabled into the catalogue's Seller row (events 0003)."""

from django.db import migrations


def copy_charges_enabled(apps, schema_editor):
    ConnectedAccount = apps.get_model("payments", "ConnectedAccount")
    Seller = apps.get_model("events", "Seller")
    for organiser_id, charges_enabled in ConnectedAccount.objects.values_list(
        "organiser_id", "charges_enabled"
    ):
        Seller.objects.update_or_create(
            organiser_id=organiser_id, defaults={"can_take_payments": charges_enabled}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_seller"),
        ("payments", "0002_stripe_event_unprocessable"),
    ]

    operations = [migrations.RunPython(copy_charges_enabled, migrations.RunPython.noop)]
