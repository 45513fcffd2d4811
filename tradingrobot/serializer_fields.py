import datetime as dt

from rest_framework import serializers


def iso_z(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as DRF renders datetimes."""
    return None if value is None else value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def money_field(**kwargs):
    return serializers.DecimalField(max_digits=24, decimal_places=4, **kwargs)


def price_field(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=4, **kwargs)


def qty_field(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=4, **kwargs)


def ratio_field(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=6, **kwargs)


class ErrorOut(serializers.Serializer):
    status = serializers.CharField(default="error")
    code = serializers.CharField()
    message = serializers.CharField()
