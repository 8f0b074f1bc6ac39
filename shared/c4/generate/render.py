"""Rendering session rows as CSV or JSON-lines text, vectorised with Arrow.

A field's value is described as *parts*: literal text, a lookup into a small table of
strings (``Lookup``), or integers printed in decimal (``Digits``).  The fast path folds the
separators, keys and quotes into the lookup tables and joins every part of a row in one
Arrow call.  The generic path (used for the few rows that get dirt) builds each field's plain
value first, so values can be blanked or replaced, then quotes them.  Both give identical
text for untouched fields (checked by the tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c4.elt.contract import CONTRACT_COLUMNS

#: Columns of a raw session file, in order (the data contract).
FIELDS = CONTRACT_COLUMNS
#: Largest table built by combining two adjacent lookups.
COMBINE_LIMIT = 100_000
NUMERIC = frozenset({"dwell_minutes", "bytes_down", "bytes_up", "signal_dbm", "failed_logins"})
FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class Lookup:
    """A value taken from ``table`` at the row's index in slot ``slot``."""

    table: pa.Array
    slot: str


@dataclass(frozen=True)
class Digits:
    """The integers of slot ``slot`` printed in decimal."""

    slot: str


Part = str | Lookup | Digits
FieldParts = Mapping[str, Sequence[Part]]
Slots = Mapping[str, np.ndarray]


def string_table(values: Sequence[str]) -> pa.Array:
    """An Arrow string array (a lookup table)."""
    return pa.array(list(values), type=pa.string())


def header(fmt: str) -> bytes:
    """File header: the column names for CSV, nothing for JSON lines."""
    return (",".join(FIELDS) + "\n").encode() if fmt == "csv" else b""


def _field_open(fmt: str, i: int, name: str) -> str:
    if fmt == "csv":
        return "" if i == 0 else ","
    return ("{" if i == 0 else ",") + f'"{name}":'


def _quote(fmt: str, name: str) -> str:
    return '"' if fmt == "jsonl" and name not in NUMERIC else ""


def _line_end(fmt: str) -> str:
    return "\n" if fmt == "csv" else "}\n"


def _fold(pieces: list[Part]) -> list[Part]:
    """Merge literals into neighbouring lookup tables (prefix of the next, else suffix)."""
    merged: list[Part] = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + p
        elif not (isinstance(p, str) and p == ""):
            merged.append(p)
    out: list[Part] = []
    i = 0
    while i < len(merged):
        p = merged[i]
        nxt = merged[i + 1] if i + 1 < len(merged) else None
        if isinstance(p, str) and isinstance(nxt, Lookup):
            out.append(Lookup(pc.binary_join_element_wise(p, nxt.table, ""), nxt.slot))
            i += 2
            continue
        if isinstance(p, str) and out and isinstance(out[-1], Lookup):
            last = out[-1]
            out[-1] = Lookup(pc.binary_join_element_wise(last.table, p, ""), last.slot)
        else:
            out.append(p)
        i += 1
    return _merge_same_slot(out)


def _merge_same_slot(parts: list[Part]) -> list[Part]:
    """Adjacent lookups indexed by the same slot become one lookup (fewer Arrow calls per row)."""
    out: list[Part] = []
    for p in parts:
        last = out[-1] if out else None
        if isinstance(p, Lookup) and isinstance(last, Lookup) and last.slot == p.slot:
            out[-1] = Lookup(pc.binary_join_element_wise(last.table, p.table, ""), p.slot)
        else:
            out.append(p)
    return out


def _materialise(part: Part, slots: Slots) -> pa.Array | str:
    if isinstance(part, Lookup):
        return part.table.take(pa.array(slots[part.slot]))
    if isinstance(part, Digits):
        return pc.cast(pa.array(slots[part.slot]), pa.string())
    return part


def _join(parts: Sequence[Part], slots: Slots, n: int) -> pa.Array:
    arrays = [_materialise(p, slots) for p in parts]
    if not any(isinstance(a, pa.Array) for a in arrays):
        return pa.array(["".join(str(a) for a in arrays)] * n, type=pa.string())
    if len(arrays) == 1:
        return arrays[0]
    return pc.binary_join_element_wise(*arrays, "")


class FastRenderer:
    """Renders complete rows (no missing values): separators folded into lookup tables.

    Parameters
    ----------
    fmt : {"csv", "jsonl"}
        File format.
    fields : mapping of field name to parts
        Every field of :data:`FIELDS`.
    """

    def __init__(self, fmt: str, fields: FieldParts) -> None:
        pieces: list[Part] = []
        for i, name in enumerate(FIELDS):
            q = _quote(fmt, name)
            pieces.append(_field_open(fmt, i, name) + q)
            pieces.extend(fields[name])
            pieces.append(q)
        pieces.append(_line_end(fmt))
        self.fmt = fmt
        self.fields = fields
        self.combined: list[tuple[str, str, str, int]] = []
        self.parts = self._combine(_fold(pieces))

    def _combine(self, parts: list[Part]) -> list[Part]:
        """Adjacent lookups on different slots with small tables become one lookup on a
        combined slot ``a * len(table_b) + b`` (each join argument costs per row)."""
        out: list[Part] = []
        for p in parts:
            last = out[-1] if out else None
            if (
                isinstance(p, Lookup)
                and isinstance(last, Lookup)
                and len(last.table) * len(p.table) <= COMBINE_LIMIT
            ):
                na, nb = len(last.table), len(p.table)
                left = last.table.take(pa.array(np.repeat(np.arange(na), nb)))
                right = p.table.take(pa.array(np.tile(np.arange(nb), na)))
                name = f"({last.slot}*{p.slot})"
                self.combined.append((name, last.slot, p.slot, nb))
                out[-1] = Lookup(pc.binary_join_element_wise(left, right, ""), name)
            else:
                out.append(p)
        return out

    def _with_combined(self, slots: Slots) -> Slots:
        if not self.combined:
            return slots
        full = dict(slots)
        for name, a, b, nb in self.combined:
            full[name] = full[a] * nb + full[b]
        return full

    def lines(self, slots: Slots, n: int) -> pa.Array:
        """One line (with its newline) per row."""
        return _join(self.parts, self._with_combined(slots), n)

    def values(self, slots: Slots, n: int) -> list[list[str | None]]:
        """Plain text of every field of every row (no quotes), for the few rows that get dirt."""
        columns = [self._field_text(self.fields[name], slots, n) for name in FIELDS]
        return [list(row) for row in zip(*columns, strict=True)] if n else []

    @staticmethod
    def _field_text(parts: Sequence[Part], slots: Slots, n: int) -> list[str]:
        pieces: list[list[str]] = []
        for p in parts:
            if isinstance(p, Lookup):
                pieces.append(p.table.take(pa.array(slots[p.slot])).to_pylist())
            elif isinstance(p, Digits):
                pieces.append([str(v) for v in slots[p.slot].tolist()])
            else:
                pieces.append([p] * n)
        return ["".join(t) for t in zip(*pieces, strict=True)]


def line_bounds(lines: pa.Array) -> tuple[pa.Buffer, np.ndarray]:
    """The text of all lines and the byte offset where each starts (plus the end)."""
    if len(lines) == 0:
        return pa.py_buffer(b""), np.zeros(1, dtype=np.int64)
    if lines.offset:
        lines = pa.concat_arrays([lines])
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[: len(lines) + 1]
    return lines.buffers()[2], offsets.astype(np.int64)


def render_rows(fmt: str, rows: Sequence[Sequence[str | None]]) -> list[str]:
    """Render rows of plain field values (None = empty in CSV, ``null`` in JSON lines).

    Gives the same text as :class:`FastRenderer` for complete rows (checked by the tests).
    """
    if fmt == "csv":
        return [",".join("" if v is None else v for v in row) + "\n" for row in rows]
    quoted = [name not in NUMERIC for name in FIELDS]
    keys = [f'"{name}":' for name in FIELDS]
    out = []
    for row in rows:
        items = [
            k + ("null" if v is None else f'"{v}"' if q else v)
            for k, v, q in zip(keys, row, quoted, strict=True)
        ]
        out.append("{" + ",".join(items) + "}\n")
    return out


def subset(slots: Slots, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The slots of the selected rows only."""
    return {name: values[rows] for name, values in slots.items()}


def hex_pairs() -> list[str]:
    """``00`` .. ``ff``."""
    return [f"{i:02x}" for i in range(256)]


def format_macs(macs: np.ndarray) -> pa.Array:
    """48-bit integers as lower-case ``aa:bb:cc:dd:ee:ff`` strings."""
    table = string_table(hex_pairs())
    octets = [table.take(pa.array((macs >> (8 * (5 - i))) & 0xFF)) for i in range(6)]
    if macs.size == 0:
        return pa.array([], type=pa.string())
    return pc.binary_join_element_wise(*octets, ":")


@lru_cache(maxsize=1)
def clock_table() -> pa.Array:
    """``HH:MM:SS`` for every second of a day."""
    sec = np.arange(86_400)
    parts = [
        zero_padded_values(sec // 3600, 2),
        zero_padded_values(sec // 60 % 60, 2),
        zero_padded_values(sec % 60, 2),
    ]
    return pc.binary_join_element_wise(*parts, ":")


@lru_cache(maxsize=4)
def decimal_table(n: int, scale: int = 100) -> pa.Array:
    """``i / scale`` with two decimals for ``i`` in ``range(n)`` (e.g. ``12.35``)."""
    ints = np.arange(n)
    whole = pc.cast(pa.array(ints // scale), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(ints % scale), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def zero_padded(n: int, width: int = 6) -> pa.Array:
    """``000000`` .. ``n-1`` zero-padded."""
    return zero_padded_values(np.arange(n), width)


def zero_padded_values(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers zero-padded to ``width`` digits."""
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width, "0")
