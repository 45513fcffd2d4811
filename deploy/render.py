"""Fill a deploy template: every `{{NAME}}` replaced by a value, none left over, none unused.

    python -m deploy.render deploy/nginx/tradingrobot.conf SERVER_NAME=robot.example ... > site.conf

nginx's own `$variables` are left alone, which is why the placeholders are not `$NAME`.
"""

import re
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")


def render(text: str, values: dict[str, str]) -> str:
    names = set(PLACEHOLDER.findall(text))
    missing = sorted(names - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    unused = sorted(set(values) - names)
    if unused:
        raise KeyError(f"not in the template: {', '.join(unused)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def main(argv: list[str]) -> None:
    if len(argv) < 1:
        raise SystemExit("usage: python -m deploy.render TEMPLATE NAME=VALUE ...")
    values = dict(pair.split("=", 1) for pair in argv[1:])
    sys.stdout.write(render(Path(argv[0]).read_text(), values))


if __name__ == "__main__":
    main(sys.argv[1:])
