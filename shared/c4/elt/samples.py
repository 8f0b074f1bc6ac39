"""A small, hand-made dirty raw zone: every reason code, late files, DST, unreadable files.

Used by the tests (DuckDB, Spark and S3 runs must agree on it) and handy for demos of the
contract.  :data:`EXPECTED` says what a correct ELT makes of it.
"""

from __future__ import annotations

import gzip
import json

from c4.storage import Lake

HEADER = (
    "session_id,customer_id,mall_id,zone,ap_id,session_start,session_end,dwell_minutes,"
    "bytes_down,bytes_up,device_os,login_method,signal_dbm,failed_logins"
)
MAC_A, MAC_B, MAC_C, MAC_D = (
    "a4:5e:60:0a:00:01",
    "a4:5e:60:0b:00:02",
    "a4:5e:60:0c:00:03",
    "a4:5e:60:0d:00:04",
)


def _row(
    sid: str,
    mac: str,
    start: str,
    end: str = "",
    *,
    mall: str = "CL01",
    zone: str = "entrada",
    dwell: str = "",
    down: str = "1200",
    up: str = "300",
    signal: str = "-61",
    failed: str = "0",
) -> str:
    return ",".join(
        [sid, mac, mall, zone, "ap-01", start, end, dwell, down, up, "android", "sms", signal, failed]
    )


CL01_DAY = (
    "\n".join(
        [
            HEADER,
            # visit 1 of guest A: two sessions 10 minutes apart (line 2, 3)
            _row("cl-1", MAC_A, "2025-03-14T18:00:00-03:00", "2025-03-14T18:20:00-03:00", dwell="20"),
            _row(
                "cl-2",
                MAC_A,
                "2025-03-14T18:30:00-03:00",
                "2025-03-14T18:45:00-03:00",
                dwell="15",
                zone="cine",
            ),
            # visit 2 of guest A: 2 hours later (line 4)
            _row("cl-3", MAC_A, "2025-03-14T20:45:00-03:00", "2025-03-14T21:00:00-03:00", dwell="15"),
            # exact duplicate within the file (line 5)
            _row("cl-3", MAC_A, "2025-03-14T20:45:00-03:00", "2025-03-14T21:00:00-03:00", dwell="15"),
            "cl-4,a4:5e:60:0b:00:02,CL01,entrada",  # malformed: too few fields (line 6)
            "#### garbage ####",  # malformed (line 7)
            _row("cl-5", "", "2025-03-14T11:00:00-03:00"),  # missing_required (line 8)
            _row("cl-6", MAC_B, ""),  # missing_required (line 9)
            _row("cl-7", MAC_B, "14/03/2025 11:00"),  # bad_timestamp (line 10)
            _row("cl-8", MAC_B, "2025-03-14T11:00:00-03:00", "yesterday"),  # bad_timestamp (line 11)
            _row("cl-9", MAC_B, "2025-03-14T11:00:00-03:00", dwell="-5"),  # bad_value (line 12)
            _row("cl-10", MAC_B, "2025-03-14T11:00:00-03:00", "2025-03-14T10:00:00-03:00"),  # bad_value (13)
            _row("cl-11", MAC_B, "2025-03-14T11:00:00-03:00", signal="-130"),  # bad_value (line 14)
            _row("cl-12", MAC_B, "2025-03-14T11:00:00-03:00", down="-1"),  # bad_value (line 15)
            _row("cl-13", MAC_B, "2031-03-14T11:00:00-03:00"),  # future_timestamp (line 16)
            _row("cl-14", MAC_B, "2025-03-14T11:00:00-03:00", mall="ZZ99"),  # unknown_mall (line 17)
            # guest B, valid, date-time without seconds and no end (line 18)
            _row("cl-15", MAC_B, "2025-03-14 12:05", dwell="7.5"),
        ]
    )
    + "\n"
)

CL01_LATE = (
    "\n".join(
        [
            HEADER,
            _row(
                "cl-2",
                MAC_A,
                "2025-03-14T18:30:00-03:00",
                "2025-03-14T18:45:00-03:00",
                dwell="15",
                zone="cine",
            ),
            # new session bridging visit 1 and visit 2 of guest A (18:45 -> 20:45 has a gap)
            _row("cl-16", MAC_A, "2025-03-14T19:10:00-03:00", "2025-03-14T20:30:00-03:00", dwell="80"),
        ]
    )
    + "\n"
)

_PE1 = {
    "session_id": "pe-1",
    "customer_id": MAC_C,
    "mall_id": "PE01",
    "zone": "entrada",
    "session_start": "2025-03-14T10:00:00-05:00",
    "dwell_minutes": 12.5,
    "bytes_down": 900,
    "signal_dbm": -70,
    "extra_field": {"x": 1},
}
_PE2 = {
    "session_id": "pe-2",
    "customer_id": MAC_C,
    "mall_id": "PE01",
    "session_start": "2025-03-14T10:20:00-05:00",
    "session_end": "2025-03-14T10:30:00-05:00",
}
PE01_DAY = (
    "\n".join(
        [
            json.dumps(_PE1),
            json.dumps(_PE2),
            "",
            json.dumps({"session_id": "pe-3", "customer_id": MAC_C})[:-1],  # malformed JSON (line 4)
            json.dumps({"session_id": "pe-4", "customer_id": MAC_C, "mall_id": "PE01"}),  # missing_required
            '["not", "an", "object"]',  # malformed (line 6)
            json.dumps(_PE2),  # duplicate (line 7)
        ]
    )
    + "\n"
)

# Chile DST: clocks go back at 2025-04-06 03:00 UTC and forward at 2025-09-07 04:00 UTC.
CL02_DST = (
    "\n".join(
        [
            HEADER,
            _row("dst-1", MAC_D, "2025-04-05T23:30:00-03:00", mall="CL02"),  # first 23:30 -> 02:30Z
            _row("dst-2", MAC_D, "2025-04-05T23:30:00-04:00", mall="CL02"),  # second 23:30 -> 03:30Z
            _row("dst-3", MAC_D, "2025-04-05 23:45:00", mall="CL02"),  # naive, ambiguous -> earlier: 02:45Z
            _row("dst-4", MAC_D, "2025-09-07 00:30:00", mall="CL02"),  # naive, non-existent -> 04:30Z
            _row("dst-5", MAC_D, "2025-09-07T12:00:00Z", mall="CL02"),  # UTC given -> 09:00 local
            _row("dst-6", MAC_D, "2025-07-01", mall="CL02"),  # a date alone -> 04:00Z, no local hour
        ]
    )
    + "\n"
)

UNREADABLE: dict[str, bytes] = {
    "raw/sessions/mall_id=CO01/date=2025-03-14/empty.csv": b"",
    "raw/sessions/mall_id=CO01/date=2025-03-14/header_only.csv": (HEADER + "\n").encode(),
    "raw/sessions/mall_id=CO01/date=2025-03-14/binary.csv": b"\x00\x01\x02\xff" * 64,
    "raw/sessions/mall_id=CO01/date=2025-03-14/zipped.csv": gzip.compress((HEADER + "\n").encode(), mtime=0),
    "raw/sessions/mall_id=CO01/date=2025-03-14/latin1.csv": (
        HEADER + "\n" + _row("co-1", MAC_A, "2025-03-14T10:00:00-05:00", zone="Ñuñoa", mall="CO01") + "\n"
    ).encode("latin-1"),
    "raw/sessions/mall_id=CO01/date=2025-03-14/no_customer.csv": b"session_id,mac,session_start\n"
    b"x,a4:5e:60:00:00:01,2025-03-14T10:00:00-05:00\n",
}

FILES: dict[str, bytes] = {
    "raw/sessions/mall_id=CL01/date=2025-03-14/CL01_2025-03-14.csv": CL01_DAY.encode(),
    "raw/sessions/mall_id=CL01/date=2025-03-15/CL01_2025-03-14_late1.csv": CL01_LATE.encode(),
    "raw/sessions/mall_id=PE01/date=2025-03-14/PE01_2025-03-14.jsonl": PE01_DAY.encode(),
    "raw/sessions/mall_id=CL02/date=2025-04-05/CL02_2025-04-05.csv": CL02_DST.encode(),
    "raw/_generation.json": b'{"seed": 1}',
    **UNREADABLE,
}

#: What a correct ELT makes of :data:`FILES` in one run (reference time 2026-11-30).
EXPECTED = {
    "files_processed": 10,
    "files_unreadable": 6,
    "rows_in": 17 + 2 + 6 + 6,
    "rows_accepted": 4 + 1 + 2 + 6,
    "rejected_by_reason": {
        "bad_timestamp": 2,
        "bad_value": 4,
        "duplicate": 3,
        "future_timestamp": 1,
        "malformed": 4,
        "missing_required": 3,
        "unknown_mall": 1,
    },
}

RAW_MACS = (MAC_A, MAC_B, MAC_C, MAC_D)


def write_sample_raw(lake: Lake, files: dict[str, bytes] | None = None) -> list[str]:
    """Write the sample raw files into a lake and return their paths."""
    files = FILES if files is None else files
    for rel, data in files.items():
        lake.write_bytes(rel, data)
    return sorted(files)
