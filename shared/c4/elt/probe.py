"""First look at a raw file: format, delimiter, columns, and whether it can be read at all.

A probe reads only the head of a file (and a Parquet footer), so thousands of files are
probed cheaply.  A file that fails here is quarantined whole (``unreadable``) and never
reaches an engine.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow.parquet as pq

from c4.elt.contract import (
    CONTRACT_COLUMNS,
    file_id,
    format_from_name,
    missing_required,
    resolve_columns,
    validate_mapping,
)
from c4.storage import Lake

logger = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
_COMPRESSED = {
    b"\x1f\x8b": "gzip-compressed",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}
_DELIMITERS = (",", ";", "\t", "|")
#: JSON lines read for their keys (each key of the contract is looked up in every line anyway).
JSON_KEY_LINES = 20


@dataclass(frozen=True)
class SourceFile:
    """What the probe learnt about one raw file.

    Attributes
    ----------
    rel_path : str
        Lake-relative path (or a caller-given name for in-memory data).
    fmt : str or None
        ``csv``, ``jsonl`` or ``parquet``.
    size : int
        Size in bytes.
    delimiter : str
        CSV field delimiter.
    columns : tuple of str
        Source column names (CSV header, Parquet schema, keys seen in JSON lines).
    resolved : tuple of (str, str)
        Contract column -> source column, for the columns present.
    error : str or None
        Why the file cannot be read at all (``None`` when readable).
    """

    rel_path: str
    fmt: str | None
    size: int
    delimiter: str = ","
    columns: tuple[str, ...] = ()
    resolved: tuple[tuple[str, str], ...] = ()
    error: str | None = None

    @property
    def fid(self) -> str:
        """The file id (names the manifest and the output files)."""
        return file_id(self.rel_path)

    @property
    def readable(self) -> bool:
        """Whether the file passed the probe."""
        return self.error is None

    @property
    def source_of(self) -> dict[str, str]:
        """Contract column -> source column."""
        return dict(self.resolved)

    def failed(self, error: str) -> SourceFile:
        """A copy of this probe marked unreadable."""
        return SourceFile(
            self.rel_path, self.fmt, self.size, self.delimiter, self.columns, self.resolved, error
        )


def probe_bytes(
    rel_path: str, head: bytes, size: int, mapping: Mapping[str, str] | None = None
) -> SourceFile:
    """Probe a text (CSV / JSON lines) file from its first bytes.

    Parameters
    ----------
    rel_path : str
        The file's name (its extension gives the format; the content decides when unknown).
    head : bytes
        The first bytes of the file (all of it when it is small).
    size : int
        The file's full size.
    mapping : mapping, optional
        Contract column -> source column.

    Returns
    -------
    SourceFile
        ``error`` set when the file cannot be read at all.
    """
    fmt = format_from_name(rel_path)
    base = SourceFile(rel_path, fmt, size)
    if size == 0 or not head.strip():
        return base.failed("empty file")
    for magic, what in _COMPRESSED.items():
        if head.startswith(magic):
            return base.failed(f"{what} file: land sessions files uncompressed (CSV, JSON lines or Parquet)")
    if head.startswith(b"PAR1"):
        return SourceFile(rel_path, "parquet", size)
    if fmt == "parquet":
        return base.failed("not a Parquet file (no PAR1 magic bytes)")
    if b"\x00" in head:
        return base.failed("binary file (contains NUL bytes), not CSV or JSON lines text")
    complete = len(head) >= size
    try:
        text = codecs.getincrementaldecoder("utf-8")(errors="strict").decode(head, final=complete)
    except UnicodeDecodeError as exc:
        return base.failed(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    text = text.removeprefix("\ufeff")
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if not complete:
        lines = lines[:-1]
    if fmt is None:
        fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
    if fmt == "jsonl":
        return _probe_jsonl(SourceFile(rel_path, fmt, size), text, lines, mapping)
    return _probe_csv(SourceFile(rel_path, "csv", size), lines, complete, mapping)


def _probe_csv(
    base: SourceFile, lines: list[str], complete: bool, mapping: Mapping[str, str] | None
) -> SourceFile:
    content = [ln for ln in lines if ln != ""]
    if not content:
        return base.failed("empty file")
    header = content[0]
    delimiter = max(_DELIMITERS, key=header.count) if any(d in header for d in _DELIMITERS) else ","
    try:
        names = tuple(n.strip() for n in next(csv.reader([header], delimiter=delimiter, strict=True)))
    except csv.Error as exc:
        return base.failed(f"cannot parse the CSV header: {exc}")
    lowered = [n.lower() for n in names]
    dupes = sorted({n for n in lowered if n and lowered.count(n) > 1})
    if dupes:
        return base.failed(f"duplicate column names in the header: {', '.join(dupes)}")
    resolved = resolve_columns(names, mapping)
    probe = SourceFile(base.rel_path, "csv", base.size, delimiter, names, tuple(resolved.items()))
    missing = missing_required(resolved)
    if missing:
        return probe.failed(
            f"missing required column(s) {', '.join(missing)} (header: {', '.join(names)[:300]})"
        )
    if complete and len(content) == 1:
        return probe.failed("header only: no data rows")
    return probe


def _probe_jsonl(
    base: SourceFile, text: str, lines: list[str], mapping: Mapping[str, str] | None
) -> SourceFile:
    if text.lstrip().startswith("["):
        return base.failed("a JSON array document: send JSON lines (one object per line)")
    keys: dict[str, None] = {}
    for line in lines[:JSON_KEY_LINES]:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    resolved = resolve_columns(keys, mapping)
    wanted = validate_mapping(mapping)
    for col in CONTRACT_COLUMNS:  # a key absent from the head may come later: same as absent
        resolved.setdefault(col, wanted.get(col, col))
    return SourceFile(base.rel_path, "jsonl", base.size, ",", tuple(keys), tuple(resolved.items()))


def probe_parquet(lake: Lake, probe: SourceFile, mapping: Mapping[str, str] | None) -> SourceFile:
    """Complete a Parquet probe from the file's footer (schema, row count)."""
    try:
        with lake.open_input(probe.rel_path) as fh:
            meta = pq.read_metadata(fh)
    except Exception as exc:  # pyarrow raises several types for corrupt footers
        return probe.failed(f"corrupt Parquet file: {exc}")
    return parquet_probe_from_metadata(probe, meta, mapping)


def parquet_probe_from_metadata(
    probe: SourceFile, meta: pq.FileMetaData, mapping: Mapping[str, str] | None
) -> SourceFile:
    """Resolve a Parquet file's columns from its footer and check the required ones."""
    names = tuple(meta.schema.to_arrow_schema().names)
    resolved = resolve_columns(names, mapping)
    out = SourceFile(probe.rel_path, "parquet", probe.size, ",", names, tuple(resolved.items()))
    missing = missing_required(resolved)
    if missing:
        return out.failed(
            f"missing required column(s) {', '.join(missing)} (columns: {', '.join(names)[:300]})"
        )
    if meta.num_rows == 0:
        return out.failed("no data rows")
    return out


def probe_file(lake: Lake, rel_path: str, mapping: Mapping[str, str] | None = None) -> SourceFile:
    """Probe one raw file of the lake.

    Parameters
    ----------
    lake : Lake
        The lake.
    rel_path : str
        Lake-relative path of the file.
    mapping : mapping, optional
        Contract column -> source column.

    Returns
    -------
    SourceFile
    """
    try:
        with lake.open_input(rel_path) as fh:
            size = fh.size()
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        return SourceFile(rel_path, format_from_name(rel_path), 0, error=f"cannot open the file: {exc}")
    probe = probe_bytes(rel_path, bytes(head), size, mapping)
    if probe.readable and probe.fmt == "parquet":
        probe = probe_parquet(lake, probe, mapping)
    return probe


def probe_data(rel_path: str, data: bytes, mapping: Mapping[str, str] | None = None) -> SourceFile:
    """Probe a file whose bytes are already in memory (as :func:`probe_file` does from the lake).

    Parameters
    ----------
    rel_path : str
        The file's name (lake-relative path).
    data : bytes
        Its whole content.
    mapping : mapping, optional
        Contract column -> source column.

    Returns
    -------
    SourceFile
    """
    probe = probe_bytes(rel_path, data[:HEAD_BYTES], len(data), mapping)
    if probe.readable and probe.fmt == "parquet":
        try:
            meta = pq.read_metadata(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises several types for corrupt footers
            return probe.failed(f"corrupt Parquet file: {exc}")
        probe = parquet_probe_from_metadata(probe, meta, mapping)
    return probe


def probe_files(
    lake: Lake, rel_paths: list[str], mapping: Mapping[str, str] | None = None, *, threads: int = 8
) -> list[SourceFile]:
    """Probe many files (a few threads hide storage latency, e.g. on S3)."""
    if len(rel_paths) < 32:
        return [probe_file(lake, p, mapping) for p in rel_paths]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda p: probe_file(lake, p, mapping), rel_paths))
