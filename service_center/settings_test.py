"""Settings for the test suite (pytest.ini): the one settings file, with a throwaway SECRET_KEY.

settings.py refuses to start with DEBUG off and no SECRET_KEY. The tests run with DEBUG off, as
production does, so they bring their own key unless the environment already gives one. The key is
also inherited by the app processes some tests start (they read service_center.settings).
"""

import os

os.environ.setdefault(
    "SECRET_KEY", "test-only-key-not-for-deployment-5f0c8e1a9b7d4c2e8f6a0b3d1c9e7f5a"
)

from service_center.settings import *  # noqa: E402,F403
