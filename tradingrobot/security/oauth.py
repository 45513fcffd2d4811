"""OAuth 2.0 client credentials (django-oauth-toolkit) mapped to the API scopes: a client may ask only for the
scopes its OAuthClientScopes row grants (known scopes only), and gets all of them when it asks for none."""

from oauth2_provider.scopes import SettingsScopes

from .scopes import ALL


class ClientScopes(SettingsScopes):
    def _granted(self, application) -> list[str]:
        row = getattr(application, "allowed_scopes", None) if application is not None else None
        granted = set(row.scopes.split()) if row is not None else set()
        return [scope for scope in ALL if scope in granted]  # a row written past validation grants nothing unknown

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return self._granted(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self._granted(application)
