"""Polyphonic music as piano rolls: the Bach chorales of ``music21``'s corpus, and user uploads.

A piano roll is a (frames, pitches) 0/1 matrix: frame t holds the pitches sounding at quarter
note t of the piece (the quarter-note grid of the usual JSB Chorales piano-roll set), pitch k is
MIDI note ``low_pitch + k``. The pitch range is the range found in the corpus
(:data:`LOW_PITCH` ... :data:`HIGH_PITCH`, checked when the corpus is built).

* :func:`score_to_roll` turns any ``music21`` stream into a roll (also used for uploads).
* :func:`load_chorales` parses the 371 chorales once (about 0.23 s each), caches the rolls under
  ``NLPVIZ_CACHE`` (``~/.cache/nlpviz``) and splits them by piece with a seed (training time only).
* :func:`parse_music_upload` reads a user's MIDI, MusicXML or ABC file, with the limits below.
* :func:`roll_to_midi` writes a roll as a standard MIDI file (our own small writer, no music21).

``music21`` is imported inside the functions that need it, so the rest of the app does not
pay for it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlpviz import settings
from nlpviz.sandbox import Limits

log = logging.getLogger(__name__)

LOW_PITCH = 36  # C2: the lowest note of the corpus is above this (checked by load_chorales)
HIGH_PITCH = 88  # E6
N_PITCHES = HIGH_PITCH - LOW_PITCH + 1
FRAMES_PER_QUARTER = 1

MAX_MUSIC_UPLOAD_BYTES = 512 * 1024
"""An uploaded music file larger than this is refused (a chorale's MusicXML is ~50 KB)."""
MAX_FRAMES = 400
"""An uploaded piece is read for its first this-many quarter notes (frames); the rest is cut."""
MUSIC_SUFFIXES = {
    ".mid": "midi",
    ".midi": "midi",
    ".xml": "musicxml",
    ".musicxml": "musicxml",
    ".mxl": "musicxml",
    ".abc": "abc",
}
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)
DISTRIBUTION = "music21"


class MusicUploadError(ValueError):
    """An upload that cannot be read as music; the message is meant for the user."""


@dataclass(frozen=True)
class PianoRoll:
    """A (frames, pitches) 0/1 roll and what was dropped on the way.

    Attributes:
        roll: (frames, N_PITCHES) uint8.
        title: a name to show.
        notes_out_of_range: notes dropped because their pitch is outside LOW..HIGH_PITCH.
        notes: (onset-frame, pitch) count of note onsets read.
        notes_text: messages for the user about what was cut or dropped.
    """

    roll: np.ndarray
    title: str
    notes_out_of_range: int = 0
    notes: int = 0
    notes_text: tuple[str, ...] = field(default=())

    @property
    def frames(self) -> int:
        return int(self.roll.shape[0])


def _pitch_events(stream) -> list[tuple[float, float, int]]:
    """(onset in quarters, duration in quarters, MIDI pitch) of every sounding note."""
    events = []
    for element in stream.flatten().notes:  # notes and chords; rests are not "notes"
        duration = float(element.quarterLength)
        if duration <= 0:  # grace notes
            continue
        onset = float(element.offset)
        for pitch in element.pitches:
            events.append((onset, duration, int(pitch.midi)))
    return events


def events_to_roll(
    events: list[tuple[float, float, int]],
    frames_per_quarter: int = FRAMES_PER_QUARTER,
    low: int = LOW_PITCH,
    high: int = HIGH_PITCH,
) -> tuple[np.ndarray, int]:
    """Rasterise (onset, duration, pitch) events onto the frame grid.

    A note is on in frame t when it sounds at time t / frames_per_quarter (quarters), i.e. when
    ``onset <= t/fpq < onset + duration``. Time starts at the earliest onset.

    Returns:
        (frames, high - low + 1) uint8 roll, number of notes outside [low, high] (dropped).
    """
    if not events:
        return np.zeros((0, high - low + 1), dtype=np.uint8), 0
    start = min(onset for onset, _, _ in events)
    end = max(onset + duration for onset, duration, _ in events)
    n_frames = int(np.ceil((end - start) * frames_per_quarter - 1e-9))
    roll = np.zeros((n_frames, high - low + 1), dtype=np.uint8)
    dropped = 0
    for onset, duration, pitch in events:
        if not low <= pitch <= high:
            dropped += 1
            continue
        first = int(np.ceil((onset - start) * frames_per_quarter - 1e-9))
        last = int(np.ceil((onset + duration - start) * frames_per_quarter - 1e-9))  # exclusive
        roll[first:last, pitch - low] = 1
    return roll, dropped


def score_to_roll(stream, title: str = "", max_quarters: float | None = None) -> PianoRoll:
    """A music21 stream (score, part, opus' first score) -> :class:`PianoRoll`.

    Raises:
        MusicUploadError: ``max_quarters`` is given and the notes span more quarter notes (the
            roll would take (quarters x pitches) bytes, so this is checked before it is made).
    """
    events = _pitch_events(stream)
    if max_quarters is not None and events:
        start = min(onset for onset, _, _ in events)
        end = max(onset + duration for onset, duration, _ in events)
        if end - start > max_quarters * 1.05:  # slack: music21 quantises MIDI onsets
            raise MusicUploadError(_too_long(title or "This piece", end - start, max_quarters))
    roll, dropped = events_to_roll(events)
    return PianoRoll(
        roll=roll, title=title, notes_out_of_range=dropped, notes=len(events), notes_text=()
    )


# ---- uploads: limits decided before the work ------------------------------------------------

MAX_QUARTERS = 1_000
"""An upload whose notes span more quarter notes than this is refused before music21 reads it
(ten minutes at 100 beats a minute; a chorale is about 60). The page shows the first
:data:`MAX_FRAMES` of what it reads."""
MAX_NOTES = 5_000
"""An upload with more notes than this is refused (a chorale has about 250)."""
MAX_XML_BYTES = 8 * 1024 * 1024
"""The MusicXML inside an .mxl (zip) file may be this large once decompressed."""
MAX_ZIP_MEMBERS = 64
MUSIC_LIMITS = Limits(seconds=20.0, memory_mb=1536)
"""The worker that parses an upload is stopped after this long or at this much memory."""
_KIND = {"midi": "MIDI", "musicxml": "MusicXML", "abc": "ABC"}


def _too_long(what: str, quarters: float, limit: float) -> str:
    return (
        f"{what} is longer than {limit:,.0f} quarter notes (it spans about {quarters:,.0f}), "
        f"the limit for uploads on this server; cut it to its first {limit:,.0f} quarter notes "
        "and upload it again."
    )


def _too_many_notes(what: str, notes: int, limit: int) -> str:
    return (
        f"{what} has more than {limit:,} notes ({notes:,}), the limit for uploads on this "
        "server; upload a shorter excerpt."
    )


def _varlen_at(data: bytes, at: int, end: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if at >= end:
            raise ValueError("truncated")
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at
    raise ValueError("variable-length number longer than 4 bytes")


def midi_extent(data: bytes) -> tuple[float, int]:
    """(length in quarter notes, note-on count) of a standard MIDI file, read from its bytes.

    Every track's end time (sum of its delta times) divided by the header's ticks per quarter;
    an SMPTE time base is read as 120 quarters a minute. Cheap: one pass over the bytes.

    Raises:
        ValueError: not a standard MIDI file (no ``MThd`` header, a truncated chunk, ...).
    """
    if len(data) < 14 or data[:4] != b"MThd":
        raise ValueError("no MIDI header (MThd)")
    size = struct.unpack(">I", data[4:8])[0]
    _, _, division = struct.unpack(">HHH", data[8:14])
    if division & 0x8000:  # SMPTE: frames per second x ticks per frame = ticks per second
        fps = 256 - (division >> 8)
        ticks_per_quarter = max(1, fps * (division & 0xFF)) / 2  # at 120 quarters a minute
    else:
        ticks_per_quarter = max(1, division)
    at, longest, notes = 8 + size, 0, 0
    while at + 8 <= len(data):
        kind, length = data[at : at + 4], struct.unpack(">I", data[at + 4 : at + 8])[0]
        at += 8
        end = min(at + length, len(data))
        if kind != b"MTrk":
            at = end
            continue
        ticks, status = 0, 0
        while at < end:
            delta, at = _varlen_at(data, at, end)
            ticks += delta
            if at >= end:
                break
            byte = data[at]
            if byte == 0xFF:  # meta event: type, length, data
                length, at = _varlen_at(data, at + 2, end)
                at += length
                continue
            if byte in (0xF0, 0xF7):  # sysex
                length, at = _varlen_at(data, at + 1, end)
                at += length
                continue
            if byte & 0x80:
                status, at = byte, at + 1
            elif not status:
                raise ValueError("a data byte without a status byte")
            width = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
            if status & 0xF0 == 0x90 and at + 1 < end and data[at + 1] > 0:
                notes += 1
            at += width
        longest = max(longest, ticks)
        at = end
    return longest / ticks_per_quarter, notes


def musicxml_extent(xml: bytes) -> tuple[float, int]:
    """(length in quarter notes, notes) of a MusicXML document, streamed with expat.

    A part's clock moves by each note's ``<duration>`` (not for chord notes: they sound with
    the note before), by ``<forward>`` and back by ``<backup>``; durations are in the current
    ``<divisions>`` per quarter note. Documents that declare entities are refused.

    Raises:
        ValueError: not well-formed, or it declares entities.
    """
    import xml.etree.ElementTree as ET

    if b"<!ENTITY" in xml:
        raise ValueError("the document declares XML entities")
    divisions, clock, longest, notes = 1.0, 0.0, 0.0, 0
    parser = ET.XMLPullParser(events=("start", "end"))
    chunk = 1 << 16
    for offset in range(0, len(xml), chunk):
        parser.feed(xml[offset : offset + chunk])
        for event, element in parser.read_events():
            tag = element.tag.rsplit("}", 1)[-1]
            if event == "start":
                if tag == "part":
                    clock = 0.0
                continue
            if tag == "divisions":
                try:
                    divisions = max(float(element.text or 1), 1e-6)
                except ValueError:
                    divisions = 1.0
            elif tag in ("note", "forward", "backup"):
                text = element.findtext("{*}duration") or element.findtext("duration") or "0"
                try:
                    quarters = max(float(text), 0.0) / divisions
                except ValueError:
                    quarters = 0.0
                if tag == "backup":
                    clock = max(0.0, clock - quarters)
                elif tag == "forward":
                    clock += quarters
                else:
                    is_chord = (
                        element.find("{*}chord") is not None or element.find("chord") is not None
                    )
                    if element.find("{*}rest") is None and element.find("rest") is None:
                        notes += 1
                    if not is_chord:
                        clock += quarters
                longest = max(longest, clock)
                element.clear()
            elif tag == "measure":
                element.clear()
    parser.close()
    return longest, notes


_ABC_LENGTH = re.compile(r"^\s*L:\s*(\d+)\s*/\s*(\d+)", re.MULTILINE)
_ABC_NOTE = re.compile(r"[\^_=]*[A-Ga-gzZx][,']*(\d*)(/*)(\d*)")


def abc_extent(text: str) -> tuple[float, int]:
    """(an upper bound of the length in quarter notes, notes and rests) of ABC text.

    Every note and rest (outside header lines) at the longest unit length the file declares
    (``L:``, 1/8 by default), times its length number; bar-long rests (``Z4``) count as four
    whole notes each. Chords and tuplets make the true length shorter, never longer.
    """
    units = [int(a) / int(b) for a, b in _ABC_LENGTH.findall(text) if int(b)]
    unit = 4 * max(units + [1 / 8])  # quarters
    quarters, notes = 0.0, 0
    for line in text.splitlines():
        if re.match(r"^\s*[A-Za-z]:", line) or line.lstrip().startswith("%"):
            continue
        for match in _ABC_NOTE.finditer(re.sub(r'"[^"]*"|![^!]*!', "", line)):
            number = int(match.group(1)) if match.group(1) else 1
            if match.group(0).lstrip("^_=")[:1] == "Z":
                number *= 16  # Z: whole bars; counted as four whole notes each
            quarters += number * unit
            notes += 1
    return quarters, notes


def _read_mxl(filename: str, data: bytes, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """The score inside an .mxl (zip) file, refused on its declared sizes before any inflating
    and read with a cap (declared sizes can lie).

    Raises:
        MusicUploadError: not a zip, too many members, a member or the total over ``max_bytes``.
    """
    import zipfile

    _read_mxl_sizes(filename, data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise MusicUploadError(
            f"'{filename}' is not a readable .mxl (zip) file ({error})."
        ) from None
    with archive:
        names = [m.filename for m in members]
        score = None
        if "META-INF/container.xml" in names:
            with archive.open("META-INF/container.xml") as member:
                container = member.read(64 * 1024)
            found = re.search(rb'full-path\s*=\s*"([^"]+)"', container)
            if found and found.group(1).decode("utf-8", "replace") in names:
                score = found.group(1).decode("utf-8", "replace")
        if score is None:
            candidates = [
                n for n in names
                if not n.startswith("META-INF/") and n.lower().endswith((".xml", ".musicxml"))
            ]  # fmt: skip
            if not candidates:
                raise MusicUploadError(f"'{filename}' holds no MusicXML score.")
            score = candidates[0]
        with archive.open(score) as member:
            xml = member.read(max_bytes + 1)
        if len(xml) > max_bytes:
            raise MusicUploadError(
                f"The score in '{filename}' unpacks to more than {max_bytes / 2**20:,.0f} MB, "
                "the limit for .mxl files."
            )
        return xml


def check_music_upload(filename: str, data: bytes) -> tuple[str, bytes]:
    """The limits decided before any parsing: (music21 format, the bytes it will parse).

    Suffix and size; an .mxl file's members by their declared and real sizes; then the length
    in quarter notes and the note count read from the bytes themselves (:func:`midi_extent`,
    :func:`musicxml_extent`, :func:`abc_extent`) against :data:`MAX_QUARTERS` and
    :data:`MAX_NOTES`.

    Raises:
        MusicUploadError: the message names the limit that was hit.
    """
    suffix = Path(filename or "").suffix.lower()
    if suffix not in MUSIC_SUFFIXES:
        raise MusicUploadError(
            f"'{filename}' is not a music file this page reads: upload a MIDI (.mid, .midi), "
            "MusicXML (.xml, .musicxml, .mxl) or ABC (.abc) file."
        )
    if not data:
        raise MusicUploadError("The file is empty.")
    if len(data) > MAX_MUSIC_UPLOAD_BYTES:
        raise MusicUploadError(
            f"The file has {len(data) / 1024:,.0f} KB; music uploads are limited to "
            f"{MAX_MUSIC_UPLOAD_BYTES // 1024} KB (a chorale is about 50 KB of MusicXML)."
        )
    kind = MUSIC_SUFFIXES[suffix]
    if suffix == ".mxl":
        data = _read_mxl(filename, data)
    what = f"This {_KIND[kind]} file"
    try:
        if kind == "midi":
            quarters, notes = midi_extent(data)
        elif kind == "musicxml":
            quarters, notes = musicxml_extent(data)
        else:
            quarters, notes = abc_extent(data.decode("utf-8", "replace"))
    except (ValueError, SyntaxError) as error:  # ParseError is a SyntaxError
        raise MusicUploadError(
            f"'{filename}' could not be read as {_KIND[kind]} ({str(error)[:160]})."
        ) from None
    if quarters > MAX_QUARTERS:
        raise MusicUploadError(_too_long(what, quarters, MAX_QUARTERS))
    if notes > MAX_NOTES:
        raise MusicUploadError(_too_many_notes(what, notes, MAX_NOTES))
    return kind, data


def parse_music_upload(filename: str, data: bytes, max_frames: int = MAX_FRAMES) -> PianoRoll:
    """Read an uploaded MIDI, MusicXML or ABC file as a piano roll (in this process; pages use
    :func:`read_music_upload`, which runs this in a worker process with time and memory caps).

    Raises:
        MusicUploadError: unknown suffix, empty or too large, over a limit of
            :func:`check_music_upload`, not parseable as music, no notes, or every note outside
            the pitch range.
    """
    kind, data = check_music_upload(filename, data)
    import music21

    suffix = {"midi": ".mid", "musicxml": ".musicxml", "abc": ".abc"}[kind]
    # music21 keeps a cache under the temporary directory: a private one, removed afterwards
    with tempfile.TemporaryDirectory(prefix="nlpviz-music-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            parsed = music21.converter.parseFile(
                str(path), format=kind, forceSource=True, storePickle=False
            )
        except Exception as error:  # music21 raises many kinds on bad input  # noqa: BLE001
            detail = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
            raise MusicUploadError(
                f"'{filename}' could not be read as {_KIND[kind]} ({detail})."
            ) from error
    if isinstance(parsed, music21.stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise MusicUploadError(f"'{filename}' holds no piece of music.")
        parsed = scores[0]
    piece = score_to_roll(parsed, title=Path(filename).name, max_quarters=MAX_QUARTERS)
    notes: list[str] = []
    if piece.notes == 0:
        raise MusicUploadError(f"'{filename}' has no notes (only rests or nothing at all).")
    if piece.notes_out_of_range:
        notes.append(
            f"{piece.notes_out_of_range:,} of {piece.notes:,} notes lie outside the models' "
            f"range (MIDI {LOW_PITCH}-{HIGH_PITCH}, the chorales' range) and were left out."
        )
    roll = piece.roll
    if not roll.any():
        raise MusicUploadError(
            f"Every note of '{filename}' lies outside MIDI {LOW_PITCH}-{HIGH_PITCH}, the range "
            "the models were trained on."
        )
    if roll.shape[0] > max_frames:
        notes.append(
            f"The piece is {roll.shape[0]:,} quarter notes long; only the first {max_frames:,} "
            "are used."
        )
        roll = roll[:max_frames]
    return PianoRoll(
        roll=roll,
        title=piece.title,
        notes_out_of_range=piece.notes_out_of_range,
        notes=piece.notes,
        notes_text=tuple(notes),
    )


def read_music_upload(
    filename: str,
    data: bytes,
    max_frames: int = MAX_FRAMES,
    poll: Callable[[float], None] | None = None,
) -> PianoRoll:
    """:func:`parse_music_upload` in a worker process under :data:`MUSIC_LIMITS`.

    The cheap checks (suffix, size, an .mxl file's declared sizes) run here first, so a refused
    file costs no process; ``poll`` is called while waiting (see
    :func:`nlpviz.sandbox.run_isolated`).

    Raises:
        MusicUploadError: as :func:`parse_music_upload`, or the worker ran out of its time or
            memory (the message names the limit).
    """
    from nlpviz import sandbox

    suffix = Path(filename or "").suffix.lower()
    kind = _KIND.get(MUSIC_SUFFIXES.get(suffix, ""), "music")
    if suffix == ".mxl" and data and len(data) <= MAX_MUSIC_UPLOAD_BYTES:
        _read_mxl_sizes(filename, data)
    elif suffix not in MUSIC_SUFFIXES or not data or len(data) > MAX_MUSIC_UPLOAD_BYTES:
        check_music_upload(filename, data)  # raises the message for the page
    try:
        return sandbox.run_isolated(
            parse_music_upload, filename, data, max_frames, limits=MUSIC_LIMITS, poll=poll
        )
    except sandbox.SandboxTimeout as error:
        raise MusicUploadError(
            f"Reading this {kind} file took longer than {error.seconds:g} s, the limit for music "
            "uploads on this server, and was stopped. Upload a shorter or simpler piece."
        ) from None
    except sandbox.SandboxMemory as error:
        raise MusicUploadError(
            f"Reading this {kind} file needed more than {error.memory_mb:,} MB of memory, the "
            "limit for music uploads on this server, and was stopped."
        ) from None
    except sandbox.SandboxCrashed as error:
        raise MusicUploadError(f"This {kind} file could not be read ({error}).") from None


def _read_mxl_sizes(filename: str, data: bytes) -> None:
    """Refuse an .mxl file by its zip directory alone (no inflating): member count and sizes."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise MusicUploadError(
            f"'{filename}' is not a readable .mxl (zip) file ({error})."
        ) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise MusicUploadError(
            f"'{filename}' holds {len(members):,} files; an .mxl file may hold at most "
            f"{MAX_ZIP_MEMBERS}."
        )
    total = sum(m.file_size for m in members)
    if total > MAX_XML_BYTES:
        raise MusicUploadError(
            f"'{filename}' unpacks to {total / 2**20:,.1f} MB; an .mxl file may unpack to at "
            f"most {MAX_XML_BYTES / 2**20:,.0f} MB (a chorale is about 0.1 MB)."
        )


# ---- MIDI output --------------------------------------------------------------------------

TICKS_PER_QUARTER = 480


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def roll_to_midi(
    roll: np.ndarray,
    low_pitch: int = LOW_PITCH,
    frames_per_quarter: int = FRAMES_PER_QUARTER,
    tempo_bpm: int = 80,
    velocity: int = 80,
) -> bytes:
    """A (frames, pitches) 0/1 roll as a format-0 standard MIDI file.

    Consecutive 'on' frames of a pitch become one held note (the roll cannot tell a held note
    from a repeated one, so neither can its MIDI file).
    """
    roll = np.asarray(roll)
    if roll.ndim != 2:
        raise ValueError(f"roll must be (frames, pitches), got shape {roll.shape}")
    ticks = TICKS_PER_QUARTER // frames_per_quarter
    events: list[tuple[int, int, int]] = []  # (tick, order: 0 = off first, pitch)
    padded = np.vstack([np.zeros((1, roll.shape[1])), roll > 0, np.zeros((1, roll.shape[1]))])
    change = np.diff(padded.astype(np.int8), axis=0)  # (frames + 1, pitches)
    for frame, pitch in zip(*np.nonzero(change == 1), strict=True):
        events.append((int(frame) * ticks, 1, low_pitch + int(pitch)))
    for frame, pitch in zip(*np.nonzero(change == -1), strict=True):
        events.append((int(frame) * ticks, 0, low_pitch + int(pitch)))
    events.sort()
    track = bytearray()
    micros = int(round(60_000_000 / tempo_bpm))
    track += b"\x00\xff\x51\x03" + micros.to_bytes(3, "big")  # tempo
    track += b"\x00\xc0\x13"  # program 20 (church organ), channel 0
    now = 0
    for tick, is_on, pitch in events:
        track += _varlen(tick - now)
        track += bytes([0x90 if is_on else 0x80, pitch, velocity if is_on else 0])
        now = tick
    track += b"\x00\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


# ---- the corpus (training time) -----------------------------------------------------------


@dataclass(frozen=True)
class ChoraleCorpus:
    """Rolls split by piece; ``provenance`` goes into every checkpoint card."""

    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]
    names: dict[str, list[str]]
    provenance: dict


def _cache_path() -> Path:
    import importlib.metadata

    version = importlib.metadata.version(DISTRIBUTION)
    return settings.cache_dir() / f"chorales-music21-{version}-fpq{FRAMES_PER_QUARTER}.npz"


def parse_corpus(progress: bool = True) -> tuple[list[str], list[np.ndarray], dict]:
    """Parse every chorale of music21's corpus (or read the cache); names, rolls, stats."""
    path = _cache_path()
    if path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            names = [str(n) for n in cached["names"]]
            offsets = cached["offsets"]
            flat = cached["rolls"]
            rolls = [flat[offsets[i] : offsets[i + 1]] for i in range(len(names))]
            stats = {"dropped_notes": int(cached["dropped"]), "cache": str(path)}
        return names, rolls, stats
    from music21 import corpus
    from tqdm import tqdm

    names, rolls, dropped = [], [], 0
    lowest, highest = 128, -1
    for name in tqdm(list(corpus.chorales.Iterator(returnType="filename")), disable=not progress):
        score = corpus.parse(name)
        events = _pitch_events(score)
        pitches = [p for _, _, p in events]
        lowest, highest = min(lowest, *pitches), max(highest, *pitches)
        roll, out = events_to_roll(events)
        dropped += out
        names.append(str(name))
        rolls.append(roll)
    log.info("chorales: %d pieces, pitches %d-%d", len(names), lowest, highest)
    offsets = np.cumsum([0] + [len(r) for r in rolls])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        names=np.asarray(names),
        offsets=offsets,
        rolls=np.concatenate(rolls),
        dropped=np.asarray(dropped),
    )
    tmp.replace(path)
    return names, rolls, {"dropped_notes": dropped, "cache": str(path)}


def load_chorales(split_seed: int = 7) -> ChoraleCorpus:
    """The chorales as rolls, duplicates dropped, split 70/15/15 by piece with ``split_seed``."""
    import importlib.metadata
    import importlib.util

    from nlpviz.data.sources import MissingTrainingData

    if importlib.util.find_spec("music21") is None:
        raise MissingTrainingData("music21 is not installed: pip install -e . (pyproject.toml)")
    names, rolls, stats = parse_corpus()
    seen: set[str] = set()
    kept_names, kept = [], []
    for name, roll in zip(names, rolls, strict=True):
        digest = hashlib.sha256(roll.tobytes()).hexdigest()
        if digest in seen or len(roll) < 2:
            continue
        seen.add(digest)
        kept_names.append(name)
        kept.append(roll)
    order = np.random.default_rng(split_seed).permutation(len(kept))
    n_train = int(round(SPLIT_FRACTIONS[0] * len(kept)))
    n_valid = int(round(SPLIT_FRACTIONS[1] * len(kept)))
    parts = {
        "train": order[:n_train],
        "valid": order[n_train : n_train + n_valid],
        "test": order[n_train + n_valid :],
    }
    split = {part: [kept[i] for i in idx] for part, idx in parts.items()}
    split_names = {part: [kept_names[i] for i in idx] for part, idx in parts.items()}
    corpus_hash = hashlib.sha256()
    for name, roll in zip(kept_names, kept, strict=True):
        corpus_hash.update(name.encode() + roll.tobytes())
    provenance = {
        "package": DISTRIBUTION,
        "version": importlib.metadata.version(DISTRIBUTION),
        "file": "music21/corpus/bach (corpus.chorales.Iterator(): the four-part chorales)",
        "pieces_in_corpus": len(names),
        "duplicates_dropped": len(names) - len(kept),
        "notes_outside_range_dropped": stats["dropped_notes"],
        "rolls_sha256": corpus_hash.hexdigest(),
        "representation": f"piano roll, {FRAMES_PER_QUARTER} frame per quarter note, MIDI "
        f"{LOW_PITCH}-{HIGH_PITCH} ({N_PITCHES} pitches), a note is on in every frame it sounds",
        "split_seed": split_seed,
        "split": "by piece, 70/15/15",
        "sizes": {part: len(v) for part, v in split.items()},
        "frames": {part: int(sum(len(r) for r in v)) for part, v in split.items()},
    }
    return ChoraleCorpus(
        train=split["train"],
        valid=split["valid"],
        test=split["test"],
        names=split_names,
        provenance=provenance,
    )
