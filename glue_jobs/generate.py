"""Glue job: synthetic WiFi sessions for some malls (``--mall_ids CL01,PE01``) -> ``raw/``."""

from typing import Any

from _entry import run_step
from c4.jobs import run_generate
from c4.settings import Settings


def _generate(settings: Settings, args: dict[str, str]) -> dict[str, Any]:
    mall_ids = [m for m in args.get("mall_ids", "").split(",") if m] or None
    return run_generate(settings, mall_ids=mall_ids)


if __name__ == "__main__":
    run_step("generate", _generate, extra_args=("mall_ids",))
