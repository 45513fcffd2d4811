from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "trading.realtime"
    label = "realtime"
    verbose_name = "Real-time updates"
