"""Turning whatever a user types or uploads into clean text, with limits that are said out loud.

Pure functions, no streamlit: the pages show the ``notes`` these return.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

MAX_CHARS = 10_000
"""Typed or pasted text beyond this many characters is cut off (and the page says so)."""

MAX_BATCH_ITEMS = 2_000
"""An uploaded file is classified for its first this-many non-empty items."""

MAX_UPLOAD_MB = 5
"""Mirrors ``server.maxUploadSize`` in ``.streamlit/config.toml``."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class UploadError(ValueError):
    """An upload that cannot be read as text; the message is meant for the user."""


@dataclass(frozen=True)
class CleanText:
    text: str
    notes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


def clean_text(text: str | None, max_chars: int = MAX_CHARS) -> CleanText:
    """Strip control characters and cut text to ``max_chars``, noting what was done."""
    text = "" if text is None else str(text)
    notes: list[str] = []
    stripped = _CONTROL.sub(" ", text)
    if stripped != text:
        notes.append("Control characters in the text were replaced by spaces.")
    if len(stripped) > max_chars:
        notes.append(
            f"The text has {len(stripped):,} characters; only the first {max_chars:,} are used."
        )
        stripped = stripped[:max_chars]
    return CleanText(text=stripped, notes=tuple(notes))


@dataclass(frozen=True)
class UploadedItems:
    items: tuple[str, ...]
    encoding: str
    notes: tuple[str, ...] = field(default=())


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode an upload as UTF-8 (with or without BOM), else Windows-1252; refuse binary data."""
    notes: list[str] = []
    if not data:
        raise UploadError("The file is empty.")
    sample = data[:4096]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) * 0.1:
        raise UploadError(
            "This file looks binary, not text. Upload a .txt file (one sentence per line) or a "
            ".csv file with a 'text' column."
        )
    try:
        return data.decode("utf-8-sig"), "utf-8", notes
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append(
            "The file is not UTF-8; it was read as Latin-1, so some characters may be off."
        )
        return text, "latin-1", notes
    notes.append(
        "The file is not UTF-8; it was read as Windows-1252, so some characters may be off."
    )
    return text, "cp1252", notes


def parse_upload(filename: str, data: bytes, max_items: int = MAX_BATCH_ITEMS) -> UploadedItems:
    """Read an uploaded ``.txt`` (one item per line) or ``.csv`` (a ``text`` column) file.

    Raises:
        UploadError: empty, binary, a CSV without a ``text`` column, or no non-empty item.
    """
    text, encoding, notes = decode_bytes(data)
    if filename.lower().endswith(".csv"):
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            columns = reader.fieldnames or []
            column = next((c for c in columns if c and c.strip().lower() == "text"), None)
            if column is None:
                shown = ", ".join(repr(c) for c in columns[:8]) or "none"
                raise UploadError(
                    f"The CSV file has no 'text' column (its columns: {shown}). "
                    "Add a header row with a column named text."
                )
            raw = [row.get(column) or "" for row in reader]
        except csv.Error as error:
            raise UploadError(f"The CSV file could not be parsed: {error}.") from error
    else:
        raw = text.splitlines()
    items = [clean_text(item).text.strip() for item in raw]
    items = [item for item in items if item]
    if not items:
        raise UploadError("The file has no non-empty lines of text.")
    if len(items) > max_items:
        notes.append(f"The file has {len(items):,} items; the first {max_items:,} are used.")
        items = items[:max_items]
    return UploadedItems(items=tuple(items), encoding=encoding, notes=tuple(notes))


MAX_DOCUMENT_CHARS = 60_000
"""A pasted or uploaded document is read up to this many characters (about 10,000 words)."""


@dataclass(frozen=True)
class UploadedDocuments:
    """An upload read as documents: one for a .txt/.md file, one per row for a .csv file."""

    documents: tuple[str, ...]
    encoding: str
    notes: tuple[str, ...] = ()
    from_csv: bool = False


def parse_document_upload(
    filename: str, data: bytes, max_items: int = MAX_BATCH_ITEMS
) -> UploadedDocuments:
    """Read an uploaded ``.txt``/``.md`` file as one document, or a ``.csv`` as many.

    Raises:
        UploadError: empty, binary, a CSV without a ``text`` column, or nothing readable.
    """
    if filename.lower().endswith(".csv"):
        items = parse_upload(filename, data, max_items=max_items)
        return UploadedDocuments(items.items, items.encoding, items.notes, from_csv=True)
    text, encoding, notes = decode_bytes(data)
    cleaned = clean_text(text, max_chars=MAX_DOCUMENT_CHARS)
    if cleaned.is_empty:
        raise UploadError("The file has no text.")
    return UploadedDocuments((cleaned.text,), encoding, tuple(notes) + cleaned.notes)
