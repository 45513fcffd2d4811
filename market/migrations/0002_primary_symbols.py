from django.db import migrations

PRIMARY = [
    ("TSLA", "Tesla, Inc."),
    ("QQQ", "Invesco QQQ Trust"),
    ("SPY", "SPDR S&P 500 ETF Trust"),
    ("NVDA", "NVIDIA Corporation"),
]


def create_primary_symbols(apps, schema_editor):
    Symbol = apps.get_model("market", "Symbol")
    for ticker, name in PRIMARY:
        Symbol.objects.update_or_create(ticker=ticker, defaults={"name": name, "is_primary": True, "is_active": True})


class Migration(migrations.Migration):
    dependencies = [("market", "0001_initial")]
    operations = [migrations.RunPython(create_primary_symbols, migrations.RunPython.noop)]
