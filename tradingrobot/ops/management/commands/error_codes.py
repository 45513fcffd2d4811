from pathlib import Path

from django.core.management.base import BaseCommand

from tradingrobot.error_codes import ErrorCode, WsClose, error_codes_markdown, markdown_section_replace


class Command(BaseCommand):
    help = "List every error code clients can see (tradingrobot/error_codes.py); --markdown prints the README tables."

    def add_arguments(self, parser):
        parser.add_argument("--markdown", action="store_true", help="print the tables the README carries")
        parser.add_argument("--write", metavar="README", help="replace the tables between the markers in this file")

    def handle(self, *args, markdown: bool, write: str | None, **options):
        if write:
            path = Path(write)
            path.write_text(markdown_section_replace(path.read_text()))
            self.stdout.write(f"{path}: {len(ErrorCode)} error codes, {len(WsClose)} close codes")
        elif markdown:
            self.stdout.write(error_codes_markdown(), ending="")
        else:
            for code in ErrorCode:
                self.stdout.write(f"{code.value:<34} {code.status.value}  {code.meaning}")
            for close in WsClose:
                self.stdout.write(f"{close.value:<34} ws    {close.meaning}")
