from django.db import migrations


def create_state_row(apps, schema_editor):
    TradingState = apps.get_model("trading", "TradingState")
    TradingState.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]
    operations = [migrations.RunPython(create_state_row, migrations.RunPython.noop)]
