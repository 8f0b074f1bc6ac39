"""Glue job: train, tune and evaluate a challenger; writes ``models/<version>/gate.json``."""

from _entry import run_step
from c4.jobs import run_train

if __name__ == "__main__":
    run_step("train", lambda settings, args: run_train(settings))
