from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "trading.realtime"
    label = "realtime"
    verbose_name = "Real-time updates"

    def ready(self):
        # Every process that can change trading state (web, Celery worker, command) forwards its events.
        from trading import events

        from .bridge import forward_event

        events.listen(forward_event)
