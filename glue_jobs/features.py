"""Glue job: point-in-time customer features -> ``features/customer_features``."""

from _entry import run_step
from c4.jobs import run_features

if __name__ == "__main__":
    run_step("features", lambda settings, args: run_features(settings))
