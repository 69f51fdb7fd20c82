#!/usr/bin/env python
import os
import sys


def _offline_commands() -> frozenset:
    from core.cache import OFFLINE_COMMANDS

    return OFFLINE_COMMANDS


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")
    from django.core.management import execute_from_command_line

    if sys.argv[1:2] and sys.argv[1] in _offline_commands():
        from core import cache

        cache.stay_offline()  # these commands don't need Redis, so they don't touch it

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
