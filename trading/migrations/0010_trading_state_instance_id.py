import secrets

from django.db import migrations, models


def name_this_instance(apps, schema_editor):
    TradingState = apps.get_model("trading", "TradingState")
    state, _ = TradingState.objects.get_or_create(pk=1)
    if not state.instance_id:
        state.instance_id = secrets.token_hex(4)
        state.save(update_fields=["instance_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0009_order_strategy_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="tradingstate",
            name="instance_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(name_this_instance, migrations.RunPython.noop),
    ]
