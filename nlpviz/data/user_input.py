"""Turning whatever a user types or uploads into clean text, with limits that are said out loud.

Pure functions, no streamlit: the pages show the ``notes`` these return.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from nlpviz.sandbox import Limits

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


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode an upload: by its byte-order mark (UTF-8, UTF-16 or UTF-32, little or big
    endian), else as UTF-8, else Windows-1252 or Latin-1 with a note; refuse binary data.

    Returns:
        (text, encoding name, notes for the user).
    """
    notes: list[str] = []
    if not data:
        raise UploadError("The file is empty.")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as error:
                raise UploadError(
                    f"The file starts with a {name} byte-order mark but is not valid {name} "
                    f"(at byte {error.start + len(bom):,}). Save it again as UTF-8."
                ) from None
            if "\x00" in text[:4096]:
                raise UploadError("This file looks binary, not text.")
            return text, name.lower(), notes
    sample = data[:4096]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) * 0.1:
        raise UploadError(
            "This file looks binary, not text. Upload a .txt file (one sentence per line) or a "
            ".csv file with a 'text' column (UTF-8, or UTF-16 with a byte-order mark)."
        )
    try:
        return data.decode("utf-8"), "utf-8", notes
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


MAX_CSV_FIELD = 1_000_000
"""A CSV field longer than this many characters is refused (Python's csv module's own limit is
131,072; a text cut to :data:`MAX_CHARS` anyway needs less)."""


def parse_upload(filename: str, data: bytes, max_items: int = MAX_BATCH_ITEMS) -> UploadedItems:
    """Read an uploaded ``.txt`` (one item per line) or ``.csv`` (a ``text`` column) file.

    Reading stops after ``max_items`` non-empty items (a note says so); an item longer than
    :data:`MAX_CHARS` is cut with a note, and so are control characters.

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
            raw = (row.get(column) or "" for row in reader)
            items, more, long_items, controlled = _take(raw, max_items)
        except csv.Error as error:
            raise UploadError(f"The CSV file could not be parsed: {error}.") from error
    else:
        lines = (
            m.group(0) for m in re.finditer(r"[^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+", text)
        )
        items, more, long_items, controlled = _take(lines, max_items)
    if not items:
        raise UploadError("The file has no non-empty lines of text.")
    kind = "rows" if filename.lower().endswith(".csv") else "lines"
    if controlled:
        notes.append(f"Control characters in {controlled:,} {kind} were replaced by spaces.")
    if long_items:
        notes.append(
            f"{long_items:,} {kind} had more than {MAX_CHARS:,} characters; each was cut to its "
            f"first {MAX_CHARS:,}."
        )
    if more:
        notes.append(
            f"The file has more than {max_items:,} non-empty {kind}; the first {max_items:,} "
            "are used."
        )
    return UploadedItems(items=tuple(items), encoding=encoding, notes=tuple(notes))


def _take(raw, max_items: int) -> tuple[list[str], bool, int, int]:
    """(the first ``max_items`` cleaned non-empty items, more left?, items cut, items with
    control characters)."""
    items: list[str] = []
    long_items = controlled = 0
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CSV_FIELD)
    try:
        for item in raw:
            cleaned = clean_text(item)
            value = cleaned.text.strip()
            if not value:
                continue
            if len(items) >= max_items:
                return items, True, long_items, controlled
            long_items += any("characters; only the first" in n for n in cleaned.notes)
            controlled += any("Control characters" in n for n in cleaned.notes)
            items.append(value)
    finally:
        csv.field_size_limit(limit)
    return items, False, long_items, controlled


UPLOAD_LIMITS = Limits(seconds=10.0, memory_mb=1024)
"""The worker that reads a text or CSV upload is stopped after this long or at this memory."""


def read_upload(
    filename: str,
    data: bytes,
    max_items: int = MAX_BATCH_ITEMS,
    poll: Callable[[float], None] | None = None,
) -> UploadedItems:
    """:func:`parse_upload` in a worker process under :data:`UPLOAD_LIMITS`.

    Raises:
        UploadError: as :func:`parse_upload`, or the worker ran out of time or memory (the
            message names the limit).
    """
    return _isolated(parse_upload, filename, data, max_items, poll=poll)


def _isolated(func: Callable, *args, poll: Callable[[float], None] | None = None):
    from nlpviz import sandbox

    try:
        return sandbox.run_isolated(func, *args, limits=UPLOAD_LIMITS, poll=poll)
    except sandbox.SandboxTimeout as error:
        raise UploadError(
            f"Reading the file took longer than {error.seconds:g} s, the limit for uploads on "
            "this server."
        ) from None
    except sandbox.SandboxMemory as error:
        raise UploadError(
            f"Reading the file needed more than {error.memory_mb:,} MB of memory, the limit "
            "for uploads on this server."
        ) from None
    except sandbox.SandboxCrashed as error:
        raise UploadError(f"The file could not be read ({error}).") from None


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


def read_document_upload(
    filename: str,
    data: bytes,
    max_items: int = MAX_BATCH_ITEMS,
    poll: Callable[[float], None] | None = None,
) -> UploadedDocuments:
    """:func:`parse_document_upload` in a worker process under :data:`UPLOAD_LIMITS`.

    Raises:
        UploadError: as :func:`parse_document_upload`, or the worker ran out of time or memory
            (the message names the limit).
    """
    return _isolated(parse_document_upload, filename, data, max_items, poll=poll)
