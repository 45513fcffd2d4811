from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "tradingrobot.security"
    label = "security"
    verbose_name = "Security: API keys and audit"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import schema  # noqa: F401 - registers the OpenAPI security schemes
        from .keys import keys_changed
        from .models import ApiKey

        post_save.connect(keys_changed, sender=ApiKey, dispatch_uid="apikey-saved")
        post_delete.connect(keys_changed, sender=ApiKey, dispatch_uid="apikey-deleted")
