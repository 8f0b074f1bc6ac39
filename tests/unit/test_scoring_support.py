"""A real, small lake with a trained champion for the scoring tests.

Built with the product's own APIs: ``c4.generate.generate`` (synthetic WiFi exports),
``c4.elt.run_elt`` (curated history) and ``c4.modeling.train`` (a tiny champion).  The last
local day's export files are held back from the ELT (``held/<name>``): they are the "new"
files the tests upload and score.  ``scoring_lake(tmp_path)`` gives each test its own copy.

Building takes a few minutes on a busy 2-core machine, so the base lake is cached in the
temporary folder under a hash of the code that produces it (generator, ELT, features,
modelling): test processes share it, and any change to that code rebuilds it.  The self-test
below checks the fixture is what the scoring tests assume.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path

from c4.settings import Settings
from c4.storage import Lake

KEY = "scoring-tests-pseudonym-key-0123456789"
CUSTOMERS, MONTHS, MALLS, SEED, HORIZON = 1500, 12, 3, 3, 42

_LOCK = threading.Lock()
_BASE: dict[str, object] = {}


def _build(root: Path) -> dict[str, object]:
    from c4.elt import run_elt
    from c4.generate import GeneratorConfig, generate
    from c4.modeling import train

    lake = Lake(str(root))
    settings = Settings(lake=str(root), pseudonym_key=KEY)
    generate(lake, GeneratorConfig(customers=CUSTOMERS, months=MONTHS, seed=SEED, malls=MALLS, workers=1))
    lake.delete("truth")  # the generator's ground truth (raw MACs) is not part of a scoring lake
    files = lake.list_files("raw/sessions")
    regular = [f for f in files if "_late" not in f and "date=" in f]
    last = max(f.split("date=")[1][:10] for f in regular)
    held = []
    for f in files:
        if f.split("date=")[1][:10] >= last:  # the last day's exports (and later late files)
            name = f.rsplit("/", 1)[-1]
            lake.write_bytes(f"held/{name}", lake.read_bytes(f))
            lake.delete(f)
            held.append(name)
    end = date.fromisoformat(last)
    run_elt(lake, settings, now=datetime.combine(end, time(12)))
    result = train(lake, settings, horizon_days=HORIZON, trials=3)
    return {
        "root": root,
        "last_day": end,
        "held": sorted(held),
        "version": result.version,
        "now": datetime.combine(end + timedelta(days=1), time(12)),
    }


def _code_hash() -> str:
    import c4

    pkg = Path(c4.__file__).parent
    digest = hashlib.sha256(f"{CUSTOMERS}-{MONTHS}-{MALLS}-{SEED}-{HORIZON}-{KEY}".encode())
    for sub in ("generate", "elt", "features", "modeling", "malls.py", "storage.py", "tables.py"):
        paths = sorted((pkg / sub).rglob("*")) if (pkg / sub).is_dir() else [pkg / sub]
        for p in paths:
            if p.is_file() and p.suffix in (".py", ".sql", ".json", ".html", ".yaml"):
                digest.update(str(p.relative_to(pkg)).encode())
                digest.update(p.read_bytes())
    return digest.hexdigest()[:16]


def _load_or_build() -> dict[str, object]:
    home = Path(tempfile.gettempdir()) / f"c4-scoring-base-{_code_hash()}"
    facts_file = home / "facts.json"
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time across test processes
        if not facts_file.exists():
            shutil.rmtree(home / "lake", ignore_errors=True)
            facts = _build(home / "lake")
            facts_file.write_text(json.dumps(facts, default=str), encoding="utf-8")
    raw = json.loads(facts_file.read_text(encoding="utf-8"))
    return {
        "root": Path(raw["root"]),
        "last_day": date.fromisoformat(raw["last_day"]),
        "held": raw["held"],
        "version": raw["version"],
        "now": datetime.fromisoformat(raw["now"]),
    }


def base_lake() -> dict[str, object]:
    """The shared base lake (built on first use): root, last_day, held files, champion version, now."""
    with _LOCK:
        if not _BASE:
            _BASE.update(_load_or_build())
    return _BASE


def scoring_lake(tmp_path: Path) -> tuple[Lake, Settings, dict[str, object]]:
    """A private copy of the base lake: (lake, settings, facts)."""
    base = base_lake()
    target = tmp_path / "lake"
    shutil.copytree(str(base["root"]), target)
    return Lake(str(target)), Settings(lake=str(target), pseudonym_key=KEY), base


def held_bytes(facts: dict[str, object], prefix: str) -> bytes:
    """The held-back export of the mall whose file name starts with ``prefix`` (e.g. ``CL01``)."""
    root = Path(str(facts["root"]))
    name = next(n for n in facts["held"] if n.startswith(prefix) and "_late" not in n)  # type: ignore[attr-defined]
    return (root / "held" / name).read_bytes()


def test_base_lake_has_history_champion_and_held_files(tmp_path: Path) -> None:
    from c4.engine import connect
    from c4.modeling import champion_version

    lake, _, facts = scoring_lake(tmp_path)
    assert champion_version(lake) == facts["version"]
    assert {n[:4] for n in facts["held"]} == {"CL01", "PE01", "CO01"}  # type: ignore[attr-defined]
    last = facts["last_day"]
    con = connect(lake)
    (max_day,) = con.execute("SELECT max(local_date) FROM sessions").fetchone()
    assert max_day < last  # the held day is not curated yet
