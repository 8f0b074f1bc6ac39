"""A corpus of bad (and tricky) session files, each with the outcome scoring must give.

Every case is built in memory (bytes) so the corpus needs no binary files in git.  Rows are
dated on ``DAY`` (local time in Chile, UTC-4 in May) and scored with the reference time
``NOW``; a session more than a day after ``NOW`` is a future timestamp.

Outcomes follow the data contract (``c4.elt.REASONS``): a file that cannot be read at all is
``unreadable`` (quarantined whole, acknowledged, nothing scored); otherwise every row is
either scored or quarantined with a reason code.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from c4.elt.contract import CONTRACT_COLUMNS

DAY = "2025-05-31"
NOW = datetime(2025, 6, 1, 12, 0, 0)
OFFSET = "-04:00"
COLUMNS = CONTRACT_COLUMNS
HOSTILE = '=HYPERLINK("http://evil.example/x","clic")'


@dataclass(frozen=True)
class Case:
    """One corpus file and its expected outcome.

    Attributes
    ----------
    name : str
        Kind of badness (test id).
    filename : str
        Name it is uploaded under (the extension matters).
    data : bytes
        Content.
    status : str
        ``ok`` or ``unreadable``.
    accepted : int
        Rows scored.
    rejected : dict
        Rows quarantined per reason code.
    """

    name: str
    filename: str
    data: bytes
    status: str = "ok"
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        """Data rows the file holds (0 when unreadable)."""
        return self.accepted + sum(self.rejected.values())


def mac(i: int) -> str:
    """A raw device MAC address (what the controllers export as customer_id)."""
    return f"a4:5e:60:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"


def row(i: int, **overrides: object) -> dict[str, object]:
    """A valid session row (guest ``i``), with fields overridden."""
    minute = i % 50
    base: dict[str, object] = {
        "session_id": f"up-{i:05d}",
        "customer_id": mac(1000 + i),
        "mall_id": "CL01",
        "zone": "patio_comidas",
        "ap_id": "CL01-AP07",
        "session_start": f"{DAY}T18:{minute:02d}:00{OFFSET}",
        "session_end": f"{DAY}T18:{minute + 9:02d}:30{OFFSET}",
        "dwell_minutes": "9.5",
        "bytes_down": "2500000",
        "bytes_up": "300000",
        "device_os": "android",
        "login_method": "social",
        "signal_dbm": "-61",
        "failed_logins": "0",
    }
    base.update(overrides)
    return base


def csv_bytes(
    rows: list[dict[str, object]],
    *,
    columns: tuple[str, ...] = COLUMNS,
    delim: str = ",",
    newline: str = "\n",
    encoding: str = "utf-8",
    bom: bool = False,
) -> bytes:
    """Rows rendered as CSV text (values containing the delimiter or quotes are quoted)."""

    def cell(v: object) -> str:
        s = "" if v is None else str(v)
        return '"' + s.replace('"', '""') + '"' if any(c in s for c in (delim, '"')) else s

    lines = [delim.join(columns)] + [delim.join(cell(r.get(c)) for c in columns) for r in rows]
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def jsonl_bytes(rows: list[dict[str, object]]) -> bytes:
    """Rows as JSON lines."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as Parquet bytes."""
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("sessions.csv", data)
    return buf.getvalue()


def _typed_parquet(n: int, *, wrong: bool) -> bytes:
    starts = [datetime(2025, 5, 31, 22, i) for i in range(n)]  # UTC
    if wrong:  # epoch seconds for the start, text for the dwell
        return parquet_bytes(
            pa.table(
                {
                    "customer_id": [mac(3000 + i) for i in range(n)],
                    "mall_id": ["CL01"] * n,
                    "session_start": pa.array([int(s.timestamp()) for s in starts], pa.int64()),
                    "dwell_minutes": ["abc"] * n,
                }
            )
        )
    return parquet_bytes(
        pa.table(
            {
                "customer_id": [mac(3100 + i) for i in range(n)],
                "mall_id": ["CL01"] * n,
                "zone": ["cine"] * n,
                "session_start": pa.array(starts, pa.timestamp("us", tz="UTC")),
                "dwell_minutes": pa.array([12.0] * n, pa.float64()),
                "signal_dbm": pa.array([-60.0] * n, pa.float64()),
            }
        )
    )


def cases() -> list[Case]:
    """The corpus: more than twenty kinds of bad file, plus tricky files that are fine.

    Every row of the corpus is a different session of a different guest (a running counter),
    so the files can be scored one after the other in one lake without being duplicates of
    each other.
    """
    counter = iter(range(10_000))

    def r(**overrides: object) -> dict[str, object]:
        return row(next(counter), **overrides)

    def v(n: int) -> list[dict[str, object]]:
        return [r() for _ in range(n)]

    good = csv_bytes(v(5))
    mixed = [*v(6), r(session_start="ayer a las 6"), r(customer_id=""), r(dwell_minutes="-3")]
    mixed_bytes = csv_bytes(mixed) + b"this line,is,broken\n"
    header = ",".join(COLUMNS).encode()
    dup = v(3)
    return [
        # -- unreadable files: quarantined whole, acknowledged, nothing scored ------------------
        Case("empty", "empty.csv", b"", "unreadable"),
        Case("whitespace_only", "blank.csv", b"\n  \n\n", "unreadable"),
        Case("header_only", "header_only.csv", header + b"\n", "unreadable"),
        Case(
            "wrong_encoding_latin1",
            "latin1.csv",
            csv_bytes([*v(3), r(zone="Ñuñoa café")], encoding="latin-1"),
            "unreadable",
        ),
        Case("binary", "binary.csv", bytes(range(256)) * 8, "unreadable"),
        Case("gzip", "sessions.csv", gzip.compress(good, mtime=0), "unreadable"),
        Case("zip_archive", "sessions_zip.csv", _zip(good), "unreadable"),
        Case(
            "missing_required_columns",
            "no_guest.csv",
            csv_bytes(v(3), columns=tuple(c for c in COLUMNS if c != "customer_id")),
            "unreadable",
        ),
        Case(
            "duplicate_column_names",
            "dup_cols.csv",
            b"customer_id,session_start,customer_id\n" + f"{mac(1)},{DAY}T10:00:00-04:00,x\n".encode(),
            "unreadable",
        ),
        Case("json_array_document", "array.json", json.dumps(v(2)).encode(), "unreadable"),
        Case("parquet_corrupt", "corrupt.parquet", b"PAR1" + b"\x00garbage" * 50 + b"PAR1", "unreadable"),
        Case(
            "parquet_no_rows",
            "empty.parquet",
            parquet_bytes(
                pa.table(
                    {"customer_id": pa.array([], pa.string()), "session_start": pa.array([], pa.string())}
                )
            ),
            "unreadable",
        ),
        # -- readable files with bad rows: each row scored or quarantined with a reason ----------
        Case(
            "wrong_delimiter_rows",
            "wrong_delim.csv",
            header + b"\n" + b"".join(";".join(str(y) for y in x.values()).encode() + b"\n" for x in v(4)),
            "ok",
            0,
            {"malformed": 4},
        ),
        Case(
            "bad_timestamps",
            "bad_ts.csv",
            csv_bytes(
                [
                    *v(2),
                    r(session_start="31/05/2025 18:00"),
                    r(session_start="2025-13-45T10:00:00-04:00"),
                    r(session_end="not a time"),
                ]
            ),
            "ok",
            2,
            {"bad_timestamp": 3},
        ),
        Case(
            "future_dates",
            "future.csv",
            csv_bytes(
                [*v(2), r(session_start="2025-08-01T10:00:00-04:00", session_end="2025-08-01T10:10:00-04:00")]
            ),
            "ok",
            2,
            {"future_timestamp": 1},
        ),
        Case(
            "negative_dwell",
            "neg_dwell.csv",
            csv_bytes([*v(3), r(dwell_minutes="-12")]),
            "ok",
            3,
            {"bad_value": 1},
        ),
        Case(
            "end_before_start",
            "end_first.csv",
            csv_bytes([*v(2), r(session_end=f"{DAY}T17:00:00{OFFSET}")]),
            "ok",
            2,
            {"bad_value": 1},
        ),
        Case(
            "signal_out_of_range",
            "signal.csv",
            csv_bytes([*v(2), r(signal_dbm="17")]),
            "ok",
            2,
            {"bad_value": 1},
        ),
        Case("duplicate_rows", "dups.csv", csv_bytes(dup + dup[1:]), "ok", 3, {"duplicate": 2}),
        Case("huge_line", "huge.csv", csv_bytes([*v(3), r(zone="x" * 3000000)]), "ok", 3, {"malformed": 1}),
        Case(
            "missing_customer_in_every_row",
            "no_ids.csv",
            csv_bytes([r(customer_id="") for _ in range(3)]),
            "ok",
            0,
            {"missing_required": 3},
        ),
        Case(
            "unknown_mall",
            "unknown_mall.csv",
            csv_bytes([*v(2), r(mall_id="XX99")]),
            "ok",
            2,
            {"unknown_mall": 1},
        ),
        Case(
            "mixed_valid_invalid",
            "mixed.csv",
            mixed_bytes,
            "ok",
            6,
            {"bad_timestamp": 1, "missing_required": 1, "bad_value": 1, "malformed": 1},
        ),
        Case(
            "jsonl_broken_lines",
            "broken.jsonl",
            jsonl_bytes(v(4)) + b'{"customer_id": "a4:5e:60:00:00:09", "session_start"\n' + b"not json\n",
            "ok",
            4,
            {"malformed": 2},
        ),
        Case(
            "parquet_wrong_types",
            "wrong_types.parquet",
            _typed_parquet(3, wrong=True),
            "ok",
            0,
            {"bad_timestamp": 3},
        ),
        # -- tricky but fine: every row scored ---------------------------------------------------
        Case(
            "formula_injection_text",
            "formulas.csv",
            csv_bytes(
                [
                    r(zone=HOSTILE, device_os="+cmd|' /C calc'!A0", login_method="@SUM(1+1)*cmd"),
                    r(zone="-2+3", ap_id="=1+1"),
                ]
            ),
            "ok",
            2,
        ),
        Case("utf8_bom", "bom.csv", csv_bytes(v(3), bom=True), "ok", 3),
        Case("crlf_line_endings", "crlf.csv", csv_bytes(v(3), newline="\r\n"), "ok", 3),
        Case("semicolon_delimiter", "semicolon.csv", csv_bytes(v(3), delim=";"), "ok", 3),
        Case(
            "only_two_columns",
            "two_cols.csv",
            csv_bytes(v(3), columns=("customer_id", "session_start")),
            "ok",
            3,
        ),
        Case(
            "date_only_timestamps",
            "dates.csv",
            csv_bytes([r(session_start=DAY, session_end=None), r(session_start=DAY, session_end=None)]),
            "ok",
            2,
        ),
        Case("parquet_typed", "typed.parquet", _typed_parquet(3, wrong=False), "ok", 3),
    ]
