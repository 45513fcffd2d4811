"""OpenAPI: the API key security scheme, the 401/403/429 answers every protected operation can give, the 400 every
operation can give (a NUL byte in the path or query is refused before routing), and the schema view that builds
the document once."""

from typing import ClassVar

from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView

ERROR_REF = {"$ref": "#/components/schemas/SecurityError"}
SECURITY_ERROR = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["status", "code", "message"],
}
ANSWERS = {
    "401": "Missing, invalid, revoked or expired credentials.",
    "403": "The credential lacks the scope, or the client address is not allowed.",
    "429": "Rate limit reached; see the Retry-After header.",
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tradingrobot.security.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key; `Authorization: Api-Key <key>` works too.",
        }


class OAuthScheme(OpenApiAuthenticationExtension):
    target_class = "tradingrobot.security.authentication.ScopedOAuth2Authentication"
    name = "OAuth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": {"read": "read", "trade": "trade", "admin": "admin"},
                }
            },
        }


MALFORMED_REQUEST = "The path or query string is malformed (for example a NUL byte, code nul_character)."


def add_security_answers(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["SecurityError"] = SECURITY_ERROR
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "400", {"description": MALFORMED_REQUEST, "content": {"application/json": {"schema": ERROR_REF}}}
            )
            if not operation.get("security"):
                continue
            for status, description in ANSWERS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
                )
    return result


class CachedSchemaView(SpectacularAPIView):
    """The schema is built and rendered once per process, version and format (it changes only with the code), not
    on every call: building and rendering it costs tens of milliseconds that anyone may ask for without a key."""

    _built: ClassVar[dict[str | None, dict]] = {}
    _rendered: ClassVar[dict[tuple, bytes]] = {}

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        renderer, media_type = request.accepted_renderer, request.accepted_media_type
        key = (version, type(renderer), media_type)
        if key not in self._rendered or version not in self._built:
            if version not in self._built:
                generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
                self._built[version] = generator.get_schema(request=request, public=self.serve_public)
            self._rendered[key] = renderer.render(self._built[version], media_type, self.get_renderer_context())
        content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
        response = HttpResponse(self._rendered[key], content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="{self._get_filename(request, version)}"'
        return response
