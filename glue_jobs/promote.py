"""Glue job: promote (register as champion) the model ``--version``."""

from _entry import run_step
from c4.jobs import run_promote

if __name__ == "__main__":
    run_step(
        "promote",
        lambda settings, args: run_promote(settings, version=args["version"]),
        extra_args=("version",),
    )
