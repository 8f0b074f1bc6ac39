"""The row-by-row generator of the original notebooks, kept as a speed baseline.

A Python loop with Faker for MACs and timestamps and ``random`` for the rest, written with the
``csv`` module: what ``c4.generate`` replaces.  It has no behaviour model (no visits, no dropout,
no calendar); it only shows what a naive generator costs per row.

Run: ``python -m bench.faker_baseline --rows 50000 --out /tmp/faker.csv``.
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from c4.elt.contract import CONTRACT_COLUMNS
from faker import Faker

COLUMNS = CONTRACT_COLUMNS
ZONES = ("entrada", "patio_comidas", "tiendas_moda", "supermercado", "cine", "zona_infantil")
MALLS = ("CL01", "PE01", "CO01", "CL02", "PE02", "CO02")


def faker_rows(rows: int, out: Path, seed: int = 42, customers: int = 20_000) -> float:
    """Write ``rows`` sessions the notebook way and return the seconds it took.

    Parameters
    ----------
    rows : int
        Sessions to write.
    out : pathlib.Path
        CSV file to write.
    seed : int
        Seed of Faker and ``random``.
    customers : int
        Size of the MAC pool.

    Returns
    -------
    float
        Wall seconds.
    """
    fake = Faker("es_CL")
    Faker.seed(seed)
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    macs = [fake.mac_address() for _ in range(customers)]
    start, end = datetime(2024, 6, 1), datetime(2025, 12, 1)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            mall = rnd.choice(MALLS)
            begin = fake.date_time_between(start_date=start, end_date=end)
            dwell = rnd.lognormvariate(2.2, 1.6)
            finish = begin + timedelta(minutes=dwell)
            down = int(dwell * 60 * rnd.lognormvariate(9.5, 0.8))
            ap = f"{mall}-AP{rnd.randint(1, 40):03d}"
            stamp = begin.isoformat(timespec="seconds") + "-03:00"
            stamp_end = finish.isoformat(timespec="seconds") + "-03:00"
            os_name = rnd.choice(("android", "ios", "other"))
            login = rnd.choice(("social", "email", "sms", "voucher"))
            writer.writerow(
                (
                    f"{mall}-{i:09d}",
                    rnd.choice(macs),
                    mall,
                    rnd.choice(ZONES),
                    ap,
                    stamp,
                    stamp_end,
                    round(dwell, 2),
                    down,
                    int(down * rnd.uniform(0.05, 0.3)),
                    os_name,
                    login,
                    rnd.randint(-90, -35),
                    rnd.choice((0, 0, 0, 1, 2)),
                )
            )
    return time.perf_counter() - t0


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path("faker_sessions.csv"))
    args = parser.parse_args()
    seconds = faker_rows(args.rows, args.out)
    print(f"{args.rows} rows in {seconds:.2f}s = {args.rows / seconds:,.0f} rows/s")


if __name__ == "__main__":
    main()
