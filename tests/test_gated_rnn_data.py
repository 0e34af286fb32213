"""Piano rolls from hand-built scores, MIDI round trips, uploads that fail well, characters."""

from __future__ import annotations

import numpy as np
import pytest

from nlpviz.data.chars import CharVocab, TextTooShort, prepare_text
from nlpviz.data.chorales import (
    LOW_PITCH,
    MAX_MUSIC_UPLOAD_BYTES,
    N_PITCHES,
    MusicUploadError,
    events_to_roll,
    parse_music_upload,
    roll_to_midi,
    score_to_roll,
)

music21 = pytest.importorskip("music21", reason="music21 is a dependency in pyproject.toml")


def tiny_score(out_of_range: bool = False):
    """Upper part: C4 (1 quarter), E4 (2), a rest (1), G4 (1); lower part: a C3+G3 whole note."""
    from music21 import chord, note, stream

    upper, lower = stream.Part(), stream.Part()
    upper.append(note.Note("C4", quarterLength=1))
    upper.append(note.Note("E4", quarterLength=2))
    upper.append(note.Rest(quarterLength=1))
    upper.append(note.Note("C8" if out_of_range else "G4", quarterLength=1))
    lower.append(chord.Chord(["C3", "G3"], quarterLength=4))
    score = stream.Score()
    score.insert(0, upper)
    score.insert(0, lower)
    return score


def expected_tiny_roll() -> np.ndarray:
    roll = np.zeros((5, N_PITCHES), dtype=np.uint8)
    for frame, pitches in enumerate([(60, 48, 55), (64, 48, 55), (64, 48, 55), (48, 55), (67,)]):
        roll[frame, [p - LOW_PITCH for p in pitches]] = 1
    return roll


def test_piano_roll_of_a_tiny_hand_built_score():
    piece = score_to_roll(tiny_score(), "tiny")
    np.testing.assert_array_equal(piece.roll, expected_tiny_roll())
    assert piece.notes == 5 and piece.notes_out_of_range == 0


def test_events_start_at_the_first_onset_and_drop_out_of_range_notes():
    roll, dropped = events_to_roll([(2.0, 1.0, 60), (3.0, 2.0, 20), (3.0, 1.0, 62)])
    assert roll.shape == (3, N_PITCHES) and dropped == 1
    assert roll[0, 60 - LOW_PITCH] == 1 and roll[1, 62 - LOW_PITCH] == 1 and roll.sum() == 2


def write(score, tmp_path, fmt: str, suffix: str) -> bytes:
    path = tmp_path / f"piece{suffix}"
    score.write(fmt, fp=str(path))
    return path.read_bytes()


def test_musicxml_upload_gives_the_same_roll(tmp_path):
    data = write(tiny_score(), tmp_path, "musicxml", ".musicxml")
    piece = parse_music_upload("tiny.musicxml", data)
    np.testing.assert_array_equal(piece.roll, expected_tiny_roll())
    assert piece.notes_text == ()


def test_our_midi_writer_round_trips_through_music21():
    roll = expected_tiny_roll()
    data = roll_to_midi(roll)
    assert data[:4] == b"MThd"
    piece = parse_music_upload("tiny.mid", data)
    np.testing.assert_array_equal(piece.roll, roll)


def test_abc_upload():
    abc = b"X:1\nT:scale\nM:4/4\nL:1/4\nK:C\nCDEF|G4|]\n"
    piece = parse_music_upload("scale.abc", abc)
    assert piece.roll.shape == (8, N_PITCHES)
    on = [np.nonzero(frame)[0].tolist() for frame in piece.roll]
    assert on[:5] == [[p - LOW_PITCH] for p in (60, 62, 64, 65, 67)]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.wav", b"RIFF....", "not a music file"),
        ("empty.mid", b"", "empty"),
        ("text.mid", b"this is not a midi file at all", "could not be read as MIDI"),
        ("broken.musicxml", b"<score-partwise><part", "could not be read as MusicXML"),
        ("huge.mid", b"M" * (MAX_MUSIC_UPLOAD_BYTES + 1), "limited to"),
    ],
)
def test_bad_music_uploads_raise_clear_errors(name, data, expected):
    with pytest.raises(MusicUploadError, match=expected):
        parse_music_upload(name, data)


def test_a_piece_without_notes_is_refused(tmp_path):
    from music21 import note, stream

    part = stream.Part()
    part.append(note.Rest(quarterLength=4))
    data = write(stream.Score([part]), tmp_path, "musicxml", ".xml")
    with pytest.raises(MusicUploadError, match="has no notes"):
        parse_music_upload("rests.xml", data)


def test_notes_out_of_range_and_long_pieces_get_notes(tmp_path):
    data = write(tiny_score(out_of_range=True), tmp_path, "musicxml", ".xml")
    piece = parse_music_upload("high.xml", data, max_frames=3)
    assert piece.roll.shape[0] == 3
    text = " ".join(piece.notes_text)
    assert "1 of 5 notes lie outside" in text and "only the first 3" in text


def test_prepare_text_limits():
    vocab = CharVocab.build("hello world" * 30, min_count=1)
    with pytest.raises(TextTooShort, match="at least 2"):
        prepare_text("a", vocab)
    with pytest.raises(TextTooShort):
        prepare_text("   ", vocab)
    prepared = prepare_text("hello🙂", vocab)
    assert prepared.unknown == 1 and prepared.ids[-1] == 0 and "read as" in prepared.notes[0]
    long = prepare_text("hello " * 1000, vocab, max_chars=100)
    assert len(long.ids) == 100 and "only the first 100" in long.notes[0]
    assert vocab.decode(vocab.encode("hold")) == "hold"
    assert CharVocab.from_json(vocab.to_json()) == vocab
