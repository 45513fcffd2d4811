from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "tradingrobot.security"
    label = "security"
    verbose_name = "Security: API keys and audit"

    def ready(self):
        from . import schema  # noqa: F401 - registers the OpenAPI security schemes
