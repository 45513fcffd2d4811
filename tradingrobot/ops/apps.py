from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "tradingrobot.ops"
    label = "ops"
    verbose_name = "Operations: health, metrics, alerts"

    def ready(self) -> None:
        from . import heartbeats, instrumentation, logs

        instrumentation.install()
        heartbeats.install()
        logs.install_celery_hooks()
        logs.install_request_hooks()
