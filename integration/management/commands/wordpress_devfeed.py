import os

from django.core.management.base import BaseCommand, CommandError

from integration.devfeed import FAULTS, server_build


class Command(BaseCommand):
    help = "Serve a development stand-in for the TradingRobotPlug.com WordPress REST API on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8201)
        parser.add_argument("--host", default="127.0.0.1", help="Loopback only, unless you mean it.")
        parser.add_argument("--timezone", default="America/New_York", help="The site's zone (timezone_string).")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--fault", choices=FAULTS, default="ok", help="Start in this fault mode.")
        parser.add_argument(
            "--app-user", default=os.environ.get("WP_APP_USER", ""), help="Require this Application Password user"
        )
        parser.add_argument("--app-password", default=os.environ.get("WP_APP_PASSWORD", ""))

    def handle(self, *args, **options):
        try:
            server = server_build(
                host=options["host"],
                port=options["port"],
                zone=options["timezone"],
                seed=options["seed"],
                fault=options["fault"],
                app_user=options["app_user"],
                app_password=options["app_password"],
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}")
        host, port = str(server.server_address[0]), server.server_address[1]
        self.stdout.write(f"WordPress development feed on http://{host}:{port}/wp-json/ (zone {options['timezone']})")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
