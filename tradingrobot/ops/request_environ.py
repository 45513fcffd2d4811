"""Each request's WSGI environ without the server process's environment variables.

Granian builds every request's environ on top of the worker's whole process environment (granian/wsgi.py:
`basic_env = dict(os.environ)`, the request's keys over it). A process variable named like a request key then
reads as the request's own: HTTP_X_API_KEY as an API key, HTTP_X_FORWARDED_FOR as a client address, HTTP_PROXY
as a `Proxy` header ("httpoxy"), CONTENT_TYPE as the body's type, on every request that does not send that header
itself. The ~50 other variables (PATH, HOME...) ride along in every request's META too, and `request.headers`
walks them all.

`without_process_environment` drops them before the application sees the request: a variable that no request can
carry (PATH) always; one named like a request key (HTTP_*, CONTENT_*, REMOTE_*...) when the request's value is the
process's own, i.e. the request did not send it (a client sending, byte for byte, the server's own variable of
that name is treated as not sending it). Under a server that keeps the two apart (gunicorn), nothing is dropped.
"""

import os
from collections.abc import Callable, Iterable, Mapping

SERVER_KEYS = frozenset({"GATEWAY_INTERFACE", "SCRIPT_NAME", "SERVER_SOFTWARE"})  # the server sets them itself
REQUEST_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "REMOTE_HOST",
        "REMOTE_USER",
        "RAW_URI",
        "REQUEST_URI",
    }
)
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def request_like(name: str) -> bool:
    """Whether a request's environ could hold `name` as the request's own key."""
    return name.startswith("HTTP_") or name in REQUEST_KEYS


def shadowing_variables(environment: Mapping[str, str]) -> list[str]:
    """The process variables a request that lacks them would appear to carry (the launcher warns about them)."""
    return sorted(name for name in environment if request_like(name))


def without_process_environment(app: WSGIApp, environment: Mapping[str, str] | None = None) -> WSGIApp:
    """`app` receiving each request's environ without the process's variables (`environment`: os.environ as the
    worker starts)."""
    process = dict(os.environ if environment is None else environment)
    always = tuple(name for name in process if not request_like(name) and name not in SERVER_KEYS)
    unless_sent = tuple((name, value) for name, value in process.items() if request_like(name))

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        for name in always:
            environ.pop(name, None)
        for name, value in unless_sent:
            if environ.get(name) == value:
                del environ[name]
        return app(environ, start_response)

    return application
