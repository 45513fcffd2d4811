from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "WordPress integration"

    def ready(self) -> None:
        # kombu's filesystem broker (the embedded default) needs its folders before anyone publishes.
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for key in ("data_folder_in", "data_folder_out", "control_folder"):
                if options.get(key):
                    Path(options[key]).mkdir(parents=True, exist_ok=True)
