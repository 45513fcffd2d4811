"""What production (PRODUCTION=1) refuses to start with. Pure: the settings module calls it before Django is set up."""

MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
WEAK_SECRET_KEY_PREFIXES = ("django-insecure-", "change-me", "changeme", "test-only")


def secret_key_weakness(secret_key: str) -> str | None:
    """Why a SECRET_KEY is too weak for production (Django's own deploy-check rule, as a refusal), or None."""
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        return f"SECRET_KEY has {len(secret_key)} characters; production needs at least {MIN_SECRET_KEY_LENGTH}"
    if len(set(secret_key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS:
        return f"SECRET_KEY uses fewer than {MIN_SECRET_KEY_UNIQUE_CHARACTERS} different characters"
    if secret_key.lower().startswith(WEAK_SECRET_KEY_PREFIXES):
        return "SECRET_KEY is a placeholder; make one: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    return None


def production_refusals(
    *, secret_key: str, debug: bool, allowed_hosts: list[str], wp_base_url: str = "", wp_allow_http: bool = False
) -> list[str]:
    """Every reason production must not start; empty when it may."""
    refusals = []
    weakness = secret_key_weakness(secret_key)
    if weakness:
        refusals.append(weakness)
    if debug:
        refusals.append("DEBUG is on (it shows settings and tracebacks to anyone); unset DEBUG")
    if "*" in allowed_hosts or not allowed_hosts:
        refusals.append("ALLOWED_HOSTS must name this API's host names, not '*' or nothing")
    if wp_base_url.lower().startswith("http://") and not wp_allow_http:
        refusals.append(
            "WP_BASE_URL is plain http:// (the Application Password would travel in clear); use https://, or set"
            " WP_ALLOW_HTTP=true if the link is private"
        )
    return refusals
