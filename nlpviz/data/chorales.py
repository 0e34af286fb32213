"""Polyphonic music as piano rolls: the Bach chorales of ``music21``'s corpus, and user uploads.

A piano roll is a (frames, pitches) 0/1 matrix: frame t holds the pitches sounding at quarter
note t of the piece (the quarter-note grid of the usual JSB Chorales piano-roll set), pitch k is
MIDI note ``low_pitch + k``. The pitch range is the range found in the corpus
(:data:`LOW_PITCH` ... :data:`HIGH_PITCH`, checked when the corpus is built).

* :func:`score_to_roll` turns any ``music21`` stream into a roll (also used for uploads).
* :func:`load_chorales` parses the 371 chorales once (about 0.23 s each), caches the rolls under
  ``~/.cache/nlpviz`` and splits them by piece with a seed (training time only).
* :func:`parse_music_upload` reads a user's MIDI, MusicXML or ABC file, with the limits below.
* :func:`roll_to_midi` writes a roll as a standard MIDI file (our own small writer, no music21).

``music21`` is imported inside the functions that need it, so the rest of the app does not
pay for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
CACHE_DIR = Path(os.environ.get("NLPVIZ_CACHE", Path.home() / ".cache" / "nlpviz"))
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


def score_to_roll(stream, title: str = "") -> PianoRoll:
    """A music21 stream (score, part, opus' first score) -> :class:`PianoRoll`."""
    events = _pitch_events(stream)
    roll, dropped = events_to_roll(events)
    return PianoRoll(
        roll=roll, title=title, notes_out_of_range=dropped, notes=len(events), notes_text=()
    )


def parse_music_upload(filename: str, data: bytes, max_frames: int = MAX_FRAMES) -> PianoRoll:
    """Read an uploaded MIDI, MusicXML or ABC file as a piano roll.

    Raises:
        MusicUploadError: unknown suffix, empty or too large, not parseable as music, no notes,
            or every note outside the pitch range.
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
    import music21

    with tempfile.TemporaryDirectory(prefix="nlpviz-music-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            parsed = music21.converter.parse(str(path), format=MUSIC_SUFFIXES[suffix])
        except Exception as error:  # music21 raises many kinds on bad input  # noqa: BLE001
            kind = {"midi": "MIDI", "musicxml": "MusicXML", "abc": "ABC"}[MUSIC_SUFFIXES[suffix]]
            detail = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
            raise MusicUploadError(
                f"'{filename}' could not be read as {kind} ({detail})."
            ) from error
    if isinstance(parsed, music21.stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise MusicUploadError(f"'{filename}' holds no piece of music.")
        parsed = scores[0]
    piece = score_to_roll(parsed, title=Path(filename).name)
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
    return CACHE_DIR / f"chorales-music21-{version}-fpq{FRAMES_PER_QUARTER}.npz"


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
        raise MissingTrainingData("music21 is not installed: pip install -r requirements.txt")
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
