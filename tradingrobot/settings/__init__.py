"""Settings, all read from the environment (or a `.env` file) through one django-environ reader (`base.env`).

One module per concern. A module imports the values it reads from the module that owns them (`from .base import
DEBUG`), so nothing depends on the order of the lines below and no module re-binds another's names. Each list
(`INSTALLED_APPS`, `MIDDLEWARE`, `LOGGING`, `CELERY_BEAT_SCHEDULE`) is declared once, complete, where it belongs.
Embedded defaults (SQLite, in-memory layers) need nothing running. Every variable read here is documented in
`.env.example` (tests/test_settings_env.py compares the two).
"""

from .api import *  # noqa: F403
from .base import *  # noqa: F403
from .cache_channels import *  # noqa: F403
from .celery import *  # noqa: F403
from .database import *  # noqa: F403
from .integration import *  # noqa: F403
from .ops import *  # noqa: F403
from .security import *  # noqa: F403
from .trading import *  # noqa: F403
