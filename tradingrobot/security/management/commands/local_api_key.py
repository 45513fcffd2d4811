"""For `make run`: a key with every scope, created on the first start and kept in a local file (under var/,
git-ignored, mode 600) so later starts can print it again. A revoked or lost key is replaced."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tradingrobot.security.keys import KeyRejected, api_key_check
from tradingrobot.security.scopes import ALL
from tradingrobot.security.services import api_key_create


class Command(BaseCommand):
    help = "Print the local development API key, creating it on first use."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(settings.VAR_DIR / "local-api-key"))
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, file, base_url, **options):
        path = Path(file)
        plain = path.read_text().strip() if path.exists() else ""
        try:
            api_key = api_key_check(plain) if plain else None
        except KeyRejected:
            api_key = None
        if api_key is None or set(api_key.scope_set) != set(ALL):
            api_key, plain = api_key_create(name="local-dev", scopes=list(ALL), created_by="cli:local_api_key")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(plain + "\n")
            self.stdout.write(f"Created a local API key (scopes {api_key.scopes}), saved in {path}.")
        self.stdout.write(
            f"Local API key (every scope; in {path}). Try: curl -H 'X-API-Key: <key>' {base_url}/api/status"
        )
        self.stdout.write(plain)
