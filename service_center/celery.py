"""The Celery app (`celery -A service_center worker|beat`). Settings are Django's, under the
CELERY_ prefix (service_center/settings.py, "Background work"); tasks are found by name in each
installed app's `tasks.py`, so this layer imports nothing from the apps above it.

With no CELERY_BROKER_URL nothing is ever sent to a broker: `workflows.notify` delivers in
process after commit instead.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")

app = Celery("repair_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
