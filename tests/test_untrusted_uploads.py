"""Hostile uploads are refused fast with a message naming the limit, in a worker that is gone
afterwards; temporary files do not outlive their work; slots and model locks never deadlock."""

from __future__ import annotations

import gc
import io
import os
import struct
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nlpviz import sandbox
from nlpviz.data import chorales as ch
from nlpviz.data import conll
from nlpviz.data.user_input import UploadError, decode_bytes, parse_upload, read_upload

TMP = Path("/tmp")


def sandbox_children() -> list[int]:
    """Process ids of this process's children running ``nlpviz.sandbox`` (a /proc scan)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"nlpviz.sandbox" in cmdline:
            found.append(int(entry))
    return found


def temp_entries(*prefixes: str) -> set[str]:
    return {p.name for p in TMP.iterdir() if p.name.startswith(prefixes)}


def midi_one_note(ticks: int, division: int = 1) -> bytes:
    """A format-0 MIDI file with one middle C lasting ``ticks`` (36 bytes for 50,000 ticks)."""
    track = b"\x00\x90\x3c\x40" + ch._varlen(ticks) + b"\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, division)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def musicxml(duration: int, divisions: int = 1, comment: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0"?><score-partwise version="3.1"><part-list><score-part id="P1">'
        b"<part-name>x</part-name></score-part></part-list>" + comment + b'<part id="P1">'
        b'<measure number="1"><attributes><divisions>%d</divisions></attributes><note><pitch>'
        b"<step>C</step><octave>4</octave></pitch><duration>%d</duration><type>whole</type>"
        b"</note></measure></part></score-partwise>" % (divisions, duration)
    )


def refused_in(seconds: float, reader, *args, match: str, error=ch.MusicUploadError) -> float:
    started = time.perf_counter()
    with pytest.raises(error, match=match):
        reader(*args)
    took = time.perf_counter() - started
    assert took < seconds, f"refused after {took:.1f} s"
    assert not sandbox_children()
    return took


# ---- music --------------------------------------------------------------------------------


def test_the_36_byte_midi_with_a_50000_tick_note_is_refused_by_its_length():
    data = midi_one_note(50_000)
    assert len(data) == 36
    assert ch.midi_extent(data) == (50_000.0, 1)
    refused_in(5, ch.read_music_upload, "long.mid", data, match="longer than 1,000 quarter notes")


def test_midi_extent_reads_division_running_status_and_meta_events():
    roll = np.zeros((12, ch.N_PITCHES), dtype=np.uint8)
    roll[0:4, 10] = roll[4:12, 12] = roll[2:3, 20] = 1
    quarters, notes = ch.midi_extent(ch.roll_to_midi(roll))
    assert (quarters, notes) == (12.0, 3)
    with pytest.raises(ValueError, match="MThd"):
        ch.midi_extent(b"RIFF0000")


def test_a_musicxml_note_of_a_hundred_million_quarters_is_refused_before_music21():
    data = musicxml(100_000_000)
    assert len(data) < 400
    refused_in(5, ch.read_music_upload, "long.xml", data, match="longer than 1,000 quarter notes")
    # the same limit holds when a long piece gets past the byte scan (checked before the roll)
    assert ch.musicxml_extent(musicxml(8, divisions=2)) == (4.0, 1)


def test_xml_entities_are_refused():
    data = musicxml(4).replace(
        b"<score-partwise", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><score-partwise', 1
    )
    refused_in(5, ch.read_music_upload, "e.xml", data, match="entities")


def test_an_mxl_zip_bomb_is_refused_by_its_declared_size_without_a_worker():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "score.musicxml", musicxml(4, comment=b"<!--" + b" " * 60_000_000 + b"-->")
        )
    data = buffer.getvalue()
    assert len(data) < ch.MAX_MUSIC_UPLOAD_BYTES
    took = refused_in(1, ch.read_music_upload, "bomb.mxl", data, match="may unpack to at most 8 MB")
    assert took < 0.5


def test_an_mxl_member_is_read_with_a_cap_whatever_its_declared_size():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.musicxml", musicxml(4, comment=b"<!--" + b" " * 5000 + b"-->"))
    with pytest.raises(ch.MusicUploadError, match="unpacks to"):
        ch._read_mxl("small.mxl", buffer.getvalue(), max_bytes=1000)
    assert ch._read_mxl("ok.mxl", buffer.getvalue()).startswith(b"<?xml")


def test_abc_length_is_bounded_before_parsing():
    refused_in(5, ch.read_music_upload, "long.abc", b"X:1\nK:C\nC100000|\n", match="longer than")
    quarters, notes = ch.abc_extent("X:1\nL:1/4\nK:C\nC D E2 | z4 |\n")
    assert (quarters, notes) == (8.0, 4)


def test_a_normal_midi_upload_is_read_in_the_worker_and_leaves_no_temp_files():
    before = temp_entries("music21", "nlpviz-music-", "nlpviz-sandbox-")
    roll = np.zeros((16, ch.N_PITCHES), dtype=np.uint8)
    roll[np.arange(16), 10 + np.arange(16) % 5] = 1
    piece = ch.read_music_upload("tune.mid", ch.roll_to_midi(roll))
    assert piece.frames == 16 and piece.notes == 16
    np.testing.assert_array_equal(piece.roll, roll)
    assert not sandbox_children()
    assert temp_entries("music21", "nlpviz-music-", "nlpviz-sandbox-") <= before
    # in this process too: music21 writes no cache file under /tmp
    if (TMP / "music21").is_dir():
        cached = set(os.listdir(TMP / "music21"))
        ch.parse_music_upload("tune.mid", ch.roll_to_midi(roll))
        assert set(os.listdir(TMP / "music21")) == cached


# ---- CoNLL, text, CSV ---------------------------------------------------------------------


def test_a_conll_file_with_one_200k_token_sentence_is_refused_at_the_limit():
    text = "word\tO\n" * 200_000
    error = None
    started = time.perf_counter()
    try:
        conll.read_conll_upload(text)
    except conll.ConllError as caught:
        error = caught
    took = time.perf_counter() - started
    assert error is not None and took < 5
    assert "more than 1,000 tokens" in str(error) and error.line == 1001
    assert not sandbox_children()


def test_conll_uploads_keep_their_first_sentences_with_a_note():
    upload = conll.read_conll_upload("a\tO\nb\tB-PER\n\n" * 30, max_sentences=20)
    assert len(upload.sentences) == 20 and "first 20 are used" in upload.notes[0]
    assert upload.sentences[0].tags == ("O", "B-PER")
    with pytest.raises(conll.ConllError, match="line 2: the token 'b' has no tag"):
        conll.read_conll_upload("a\tO\nb\n")


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_a_byte_order_mark_is_read(codec, bom):
    text = "Grüße aus Köln\nΚαλημέρα\n"
    decoded, encoding, notes = decode_bytes(bom + text.encode(codec))
    assert decoded == text and encoding == "utf-16" and not notes
    items = parse_upload("x.txt", bom + text.encode(codec))
    assert items.items == ("Grüße aus Köln", "Καλημέρα")


def test_utf8_bom_and_latin1_fallback():
    assert decode_bytes(b"\xef\xbb\xbfhello")[:2] == ("hello", "utf-8")
    text, encoding, notes = decode_bytes("café crème".encode("latin-1"))
    assert text == "café crème" and encoding in ("cp1252", "latin-1") and notes
    text, encoding, notes = decode_bytes(b"\x81 caf\xe9")  # 0x81 is undefined in cp1252
    assert (text, encoding) == ("\x81 café", "latin-1") and "Latin-1" in notes[0]


def test_every_cut_of_a_text_upload_says_so():
    data = ("x" * 12_000 + "\n" + "\n".join(f"line {i}" for i in range(30))).encode()
    items = parse_upload("long.txt", data, max_items=10)
    assert len(items.items[0]) == 10_000 and len(items.items) == 10
    assert any("had more than 10,000 characters" in n for n in items.notes)
    assert any("more than 10 non-empty lines" in n for n in items.notes)
    rows = "text\n" + "\n".join(f"row {i}" for i in range(50))
    csv_items = read_upload("x.csv", rows.encode(), max_items=5)
    assert csv_items.items == tuple(f"row {i}" for i in range(5))
    assert any("more than 5 non-empty rows" in n for n in csv_items.notes)
    with pytest.raises(UploadError, match="no 'text' column"):
        read_upload("x.csv", b"a,b\n1,2\n")
    assert not sandbox_children()


# ---- the worker ---------------------------------------------------------------------------


def test_the_worker_is_killed_at_its_wall_clock_limit():
    started = time.perf_counter()
    with pytest.raises(sandbox.SandboxTimeout, match="longer than 1 s"):
        sandbox.run_isolated(time.sleep, 30, limits=sandbox.Limits(seconds=1.0))
    assert time.perf_counter() - started < 4
    assert not sandbox_children()


def test_the_worker_stops_at_its_memory_cap_and_errors_come_back():
    with pytest.raises(sandbox.SandboxMemory, match="more than 300 MB"):
        sandbox.run_isolated(bytearray, 600 * 2**20, limits=sandbox.Limits(memory_mb=300))
    with pytest.raises(ValueError, match="invalid literal"):
        sandbox.run_isolated(int, "not a number")
    assert sandbox.run_isolated(sorted, [3, 1, 2]) == [1, 2, 3]
    assert not sandbox_children()


def test_a_stopped_wait_kills_the_worker_and_removes_its_folder():
    """What Streamlit does when the visitor leaves: the poll callback raises."""

    class Stopped(BaseException):
        pass

    before = temp_entries("nlpviz-sandbox-")
    seen: list[int] = []

    def poll(elapsed: float) -> None:
        seen.extend(sandbox_children())
        if elapsed > 0.6:
            raise Stopped

    started = time.perf_counter()
    with pytest.raises(Stopped):
        sandbox.run_isolated(time.sleep, 30, poll=poll)
    assert time.perf_counter() - started < 3
    assert seen  # the worker was running while the page waited...
    assert not sandbox_children()  # ...and is gone now
    assert temp_entries("nlpviz-sandbox-") <= before


# ---- temp folders of the LoRA live sweep --------------------------------------------------


def test_a_finished_live_sweep_leaves_no_temp_folder():
    from dataclasses import replace

    import torch
    from test_lora import tiny_backbone, tiny_task

    from nlpviz.train import lora as sweep_lib
    from nlpviz.ui import lora as lo

    before = temp_entries("nlpviz-lora-live-")
    recipe = replace(
        sweep_lib.SweepRecipe(ranks=(1,), seeds=(1,), epochs=1, batch_size=8, max_len=16),
        prefix=lo.LIVE_PREFIX,
        include_full=False,
        include_probe=False,
    )
    backbone, data = tiny_backbone(), tiny_task()
    task = sweep_lib.encode_task(data, backbone, recipe)
    device = torch.device("cpu")
    estimate = sweep_lib.estimate_seconds(
        sweep_lib.planned_runs(recipe), recipe, backbone, task, device, steps=1
    )
    folder = lo.LiveFolder()
    assert folder.path.name in temp_entries("nlpviz-lora-live-")
    run = lo.LiveRun(recipe, device, folder.path, backbone, data, estimate)
    lo.run_live_sweep(run, lambda fraction, name: None)
    results = lo.finish_live_sweep(folder.path)
    assert [r["name"] for r in results.rows] == ["lora-live-r1-s1"]
    assert temp_entries("nlpviz-lora-live-") == before
    # a stopped sweep's folder goes with the session state that holds it
    kept = lo.LiveFolder()
    path = kept.path
    del kept
    gc.collect()
    assert not path.exists() and temp_entries("nlpviz-lora-live-") == before


# ---- slots and model locks ----------------------------------------------------------------


def test_the_wrapper_checks_the_real_script_runner_of_the_pinned_streamlit():
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    from nlpviz.ui import script_slots

    assert script_slots.signature_ok(ScriptRunner._run_script)

    class Runner(ScriptRunner):
        pass

    slots = threading.BoundedSemaphore(1)
    script_slots.limit_runs(Runner, slots)
    assert Runner._run_script.__wrapped__ is ScriptRunner._run_script
    assert script_slots.signature_ok(Runner._run_script.__wrapped__)

    class Odd:
        def _run_script(self, rerun_data, extra):
            pass

    assert not script_slots.signature_ok(Odd._run_script)
    assert not script_slots.signature_ok(None)


def test_a_page_runs_through_apptest_with_the_limit_installed():
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    from nlpviz.ui import script_slots

    assert script_slots.install() == 1
    assert hasattr(script_runner.ScriptRunner._run_script, "_nlpviz_slots")

    def page():
        import streamlit as st

        from nlpviz.ui import script_slots

        st.write(f"holds a slot: {getattr(script_slots._state, 'slots', None) is not None}")

    at = AppTest.from_function(page).run(timeout=30)
    assert not at.exception
    assert at.markdown[0].value == "holds a slot: True"
    assert script_slots._slots.acquire(blocking=False)  # the run gave its slot back
    script_slots._slots.release()


def test_waiting_for_a_model_lock_gives_the_slot_away_and_cannot_deadlock():
    """A holds the model lock (a data-set attribution); B's run waits for it: B's slot goes to
    C meanwhile. Then the cache-lock cycle: B, holding a cache key's lock, gets the model lock
    while C holds the slot and waits for that cache key: B goes on without the slot."""
    from nlpviz.ui import script_slots

    slots = threading.BoundedSemaphore(1)
    model, cache_key = threading.Lock(), threading.Lock()
    events: list[str] = []

    class Runner:
        def _run_script(self, job) -> None:
            job()

    script_slots.limit_runs(Runner, slots)

    def run_b() -> None:
        with cache_key, script_slots.model_lock_released_slot(model):
            events.append("b computed")

    def run_c() -> None:
        events.append("c ran")
        with cache_key:  # waits for B's cache key while holding the slot
            events.append("c got the cache key")

    model.acquire()  # A
    b = threading.Thread(target=Runner()._run_script, args=(run_b,))
    b.start()
    time.sleep(0.2)
    c = threading.Thread(target=Runner()._run_script, args=(run_c,))
    c.start()
    time.sleep(0.2)
    assert events == ["c ran"]  # C got the slot while B waited for the model lock
    model.release()  # A is done
    b.join(5)
    c.join(5)
    assert not b.is_alive() and not c.is_alive()
    assert events == ["c ran", "b computed", "c got the cache key"]
    assert slots.acquire(blocking=False)  # every slot is back, none released twice
    slots.release()
    # the lock free: no slot changes hands
    with script_slots.model_lock_released_slot(model):
        assert model.locked()
    assert not model.locked()


def test_a_shared_link_says_when_it_leaves_a_long_text_out():
    from streamlit.testing.v1 import AppTest

    def page(text: str):
        from nlpviz.ui.widgets import publish_query

        publish_query({"text": text})

    at = AppTest.from_function(page, args=("word " * 300,)).run(timeout=30)
    assert not at.exception
    assert "text" not in at.query_params
    assert any("leaves your text out" in c.value and "1,500" in c.value for c in at.caption)
    short = AppTest.from_function(page, args=("short",)).run(timeout=30)
    assert short.query_params["text"] == "short" and not short.caption


def test_the_live_sweep_and_heavy_turn_share_one_line():
    from nlpviz.heavy import HEAVY_LINE
    from nlpviz.ui import lora as lo

    assert lo.acquire_live_sweep("session a") is None
    try:
        assert HEAVY_LINE.running().label == lo.LIVE_SWEEP_LABEL
        other = HEAVY_LINE.join("session b", "attribution over a data set")  # heavy_turn's way
        assert not HEAVY_LINE.wait_turn(other, 0.1)  # it waits behind the sweep
        lo.release_live_sweep("session b")  # not the holder: nothing happens
        assert HEAVY_LINE.running().owner == "session a"
        lo.release_live_sweep("session a")
        assert HEAVY_LINE.wait_turn(other, 1.0)
        assert lo.acquire_live_sweep("session c") is not None  # busy now: no waiting
        HEAVY_LINE.leave(other)
    finally:
        lo.release_live_sweep("session a")
    assert HEAVY_LINE.running() is None


def test_the_music_limits_name_themselves_when_the_worker_overruns(monkeypatch):
    # a worker cannot start Python and import music21 in 10 ms on any machine, so this overruns
    # whatever the machine's speed (a 0.3 s limit passed on a quiet machine)
    monkeypatch.setattr(ch, "MUSIC_LIMITS", sandbox.Limits(seconds=0.01))
    roll = np.eye(8, ch.N_PITCHES, 10, dtype=np.uint8)
    refused_in(
        5, ch.read_music_upload, "slow.mid", ch.roll_to_midi(roll), match="longer than 0.01 s"
    )


def test_the_roll_is_not_made_for_a_piece_past_the_limit():
    import music21

    part = music21.stream.Part([music21.note.Note("C4", quarterLength=5000)])
    with pytest.raises(ch.MusicUploadError, match="longer than 1,000 quarter notes"):
        ch.score_to_roll(part, "long", max_quarters=ch.MAX_QUARTERS)
    assert ch.score_to_roll(part, "long").frames == 5000  # no limit asked: the whole roll


def test_an_outcome_is_kept_for_the_same_bytes_refusals_too():
    from nlpviz.ui import untrusted

    untrusted.clear()
    calls: list[bytes] = []

    def reader(data: bytes, poll=None) -> int:
        calls.append(data)
        if data.startswith(b"bad"):
            raise ValueError("refused")
        return len(data)

    good, bad = b"g" * 1000, b"bad" + b"x" * 1000
    assert untrusted.read_untrusted(reader, good) == 1000
    assert untrusted.read_untrusted(reader, good) == 1000
    for _ in range(2):
        with pytest.raises(ValueError, match="refused"):
            untrusted.read_untrusted(reader, bad)
    assert calls == [good, bad]  # each file read once
    assert untrusted.read_untrusted(reader, b"h" * 1000) == 1000 and len(calls) == 3
    untrusted.clear()
