"""The Celery app. Broker: Redis when REDIS_URL is set, else kombu's filesystem broker under var/ (embedded).

Beat schedule and options live in settings (CELERY_* names); tasks in <app>/tasks.py are autodiscovered.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.settings")

app = Celery("tradingrobot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
