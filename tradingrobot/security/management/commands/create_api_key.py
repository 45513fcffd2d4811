import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from tradingrobot.errors import DomainError
from tradingrobot.security.services import api_key_create


def _expiry(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    if value.endswith("d") and value[:-1].isdigit():
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=int(value[:-1]))
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--expires takes a number of days like 90d or an ISO 8601 time; got {value!r}.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Create an API key and print it once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="Comma-separated: read,trade,admin")
        parser.add_argument("--expires", help="90d, or an ISO 8601 time")

    def handle(self, *args, name, scopes, expires, **options):
        try:
            api_key, plain = api_key_create(
                name=name, scopes=scopes, expires_at=_expiry(expires), created_by="cli:create_api_key"
            )
        except DomainError as error:
            raise CommandError(error.message)
        expiry = f", expires {api_key.expiry_date:%Y-%m-%dT%H:%M:%SZ}" if api_key.expiry_date else ""
        self.stdout.write(f"Created API key {api_key.label} with scopes {api_key.scopes}{expiry}. Store it now:")
        self.stdout.write(plain)
