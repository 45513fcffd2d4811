"""Request body parsers with limits: at most API_MAX_BODY_BYTES (413 above), JSON at most API_MAX_JSON_DEPTH levels
deep (400, instead of the RecursionError a deep body raises in the parser). No route takes files: no multipart."""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.utils import json

from tradingrobot.error_codes import ErrorCode


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = ErrorCode.BODY_TOO_LARGE


class JsonTooDeep(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = ErrorCode.JSON_TOO_DEEP


def body_read(stream, parser_context: dict | None) -> bytes:
    """The whole body, refused (413) as soon as it is longer than the limit, whatever Content-Length claims."""
    limit = settings.API_MAX_BODY_BYTES
    request = (parser_context or {}).get("request")
    declared = request.META.get("CONTENT_LENGTH") if request is not None else None
    too_large = BodyTooLarge(f"The request body is limited to {limit} bytes; send a smaller JSON object.")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise too_large
    return data


def json_depth_check(value, *, limit: int) -> None:
    """Iteratively, so a deep value cannot exhaust the stack here either."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            raise JsonTooDeep(f"The JSON body nests deeper than {limit} levels; send a flat object.")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = body_read(stream, parser_context)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.API_MAX_JSON_DEPTH
        try:
            parsed = json.loads(data.decode(encoding), parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise JsonTooDeep(f"The JSON body nests deeper than {limit} levels; send a flat object.")
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(f"JSON parse error - {str(exc)[:200]}")
        json_depth_check(parsed, limit=limit)
        return parsed


class BoundedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = body_read(stream, parser_context)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return QueryDict(data, encoding=encoding)
        except (ValueError, SuspiciousOperation) as exc:  # too many fields (DATA_UPLOAD_MAX_NUMBER_FIELDS) and the like
            raise ParseError(f"Form parse error - {str(exc)[:200]}")
