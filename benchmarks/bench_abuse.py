"""Adversarial load test: a class of ordinary sessions while hostile visitors do their worst.

Starts the app as a user would (``streamlit run app.py``, loopback only, ``tests/app_server.py``)
and runs the classroom stage of ``benchmarks/bench_load.py`` (N sessions at once over Streamlit's
websocket protocol, ``tests/streamlit_ws.py``, each opening the Kim CNN, HAN or attention page
with its own text) three times: alone, with the hostile visitors below at the same moment, and
alone again (the machine's other work drifts; two baselines bound it). The hostile visitors:

* uploads, each through the page's own file box (the browser's protocol: a file-URL request
  over the websocket, an HTTP PUT with the XSRF cookie, a rerun naming the file): a 36-byte MIDI
  file with one note of 50,000 ticks at division 1 and a 358-byte MusicXML file with a note of
  ``<duration>100000000</duration>`` (Gated RNN, music view), a .mxl zip of about 200 KB whose
  member unpacks to a 200 MB comment (same page), a 4.9 MB CoNLL file of ``word<TAB>O`` lines
  with no blank line (Tagger);
* an attribution over an uploaded data set, which holds a model's lock for its whole run, and
  a second session that opens the Attribution page with that model and a new text meanwhile;
* hostile link values: ``/LoRA?rank=`` a markdown link to a fake login page, ``?tour=²``,
  ``/DeBERTa?word=²``, ``/Attribution?steps=abc``.

Every file is generated here (none is committed). Measured: the ordinary sessions' p50 / p95
time to a finished view with and without the hostile traffic (same pages, same kinds of text;
each stage has texts of its own so that no view comes from the cache), the peak resident memory
of the server's process tree (the server and its sandbox workers, sampled every 0.1 s with
psutil, else from /proc; and the server's own high-water mark), what each hostile visitor was
told and when, and every byte sent to a browser scanned for "Traceback" and for exception
elements. Targets: hostile p95 <= 1.5x the mean baseline p95, server tree under 2.5 GB, no
traceback or exception element reaches a browser, every ordinary view finished, every hostile
file refused with a message. Exits 1 when a target is missed.

    .venv/bin/python benchmarks/bench_abuse.py [--sessions 20] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import streamlit_ws  # noqa: E402
from app_server import running_app  # noqa: E402
from bench_load import PAGES, percentile, run_stage  # noqa: E402
from streamlit_ws import EARLY_FOR_RERUN, FINISHED, visit_page  # noqa: E402
from test_untrusted_uploads import midi_one_note, musicxml  # noqa: E402

try:  # installed with the dev extra (peft needs it); /proc otherwise
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

TRACEBACK = b"Traceback"
FAKE_LOGIN = "[Session expired](https://evil.example/login)"
MUSIC_BOX = "…or upload a MIDI"
CONLL_BOX = "Upload plain text"
DATASET_BOX = "Upload a .txt file"
SAMPLE_SECONDS = 0.1


# ---- everything a browser receives, scanned --------------------------------------------------


class Scan:
    """Frames scanned and tracebacks found in what browsers received (all on the event loop)."""

    frames = 0
    tracebacks: list[str] = []


class ScanningForwardMsg:
    """``ForwardMsg`` that first looks for a traceback in the raw bytes.

    ``tests/streamlit_ws.visit_page`` parses every frame with ``ForwardMsg().ParseFromString``;
    putting this class in its place lets the ordinary sessions be scanned byte for byte without
    a copy of that client.
    """

    def __init__(self) -> None:
        self._message = ForwardMsg()

    def ParseFromString(self, raw: bytes) -> int:  # noqa: N802 - protobuf's name
        scan(raw, "ordinary session")
        return self._message.ParseFromString(raw)

    def __getattr__(self, name: str):
        return getattr(self._message, name)


def scan(raw: bytes, where: str) -> None:
    Scan.frames += 1
    if TRACEBACK in raw:
        at = raw.find(TRACEBACK)
        Scan.tracebacks.append(f"{where}: {raw[max(0, at - 80) : at + 200]!r}")


# ---- a tab that can upload and press buttons -------------------------------------------------


@dataclass
class Run:
    """What one script run drew."""

    seconds: float = 0.0
    finished: bool = False
    uploaders: dict[str, str] = field(default_factory=dict)  # label -> widget id
    buttons: dict[str, str] = field(default_factory=dict)
    number_inputs: dict[str, str] = field(default_factory=dict)
    selectboxes: dict[str, str] = field(default_factory=dict)  # widget id -> shown default
    texts: list[str] = field(default_factory=list)  # markdown, captions, alerts
    exceptions: list[str] = field(default_factory=list)


class Tab:
    """One browser tab's session, driven as the frontend drives it, including file uploads.

    ``streamlit_ws.visit_page`` opens a page once; hostile visitors also upload files and press
    buttons, which need the session's id, its XSRF cookie and widget states on later reruns.
    """

    def __init__(self, host: str, port: int, name: str, timeout: float) -> None:
        self.base = f"http://{host}:{port}"
        self.name, self.timeout = name, timeout
        self.session_id = ""
        self.page, self.query = "", {}
        self.watch: dict[bytes, asyncio.Event] = {}  # set when these bytes first arrive
        self.seen_at: dict[bytes, float] = {}  # and when (perf_counter)
        self.progress: list[tuple[float, int]] = []  # (perf_counter, percent) of "NN% done"

    async def __aenter__(self) -> Tab:
        # The health endpoint sets the XSRF cookie that the upload endpoint compares with a header
        _, cookies, _ = await asyncio.to_thread(_http, "GET", self.base + "/_stcore/health")
        self.xsrf = ""
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            if name.strip() == "_streamlit_xsrf":
                self.xsrf = rest.split(";", 1)[0]
        self.socket = await websockets.connect(
            self.base.replace("http", "ws") + "/_stcore/stream",
            subprotocols=["streamlit"],
            origin=self.base,
            max_size=64 * 2**20,
            open_timeout=self.timeout,
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    async def _messages(self):
        async for raw in self.socket:
            scan(raw, self.name)
            for watched, event in self.watch.items():
                if not event.is_set() and watched in raw:
                    self.seen_at[watched] = time.perf_counter()
                    event.set()
            if b"% done" in raw:
                percent = re.search(rb"(\d+)% done", raw)
                if percent:
                    self.progress.append((time.perf_counter(), int(percent.group(1))))
            message = ForwardMsg()
            message.ParseFromString(raw)
            if message.WhichOneof("type") == "new_session":
                self.session_id = message.new_session.initialize.session_id
            yield message

    async def run(self, page: str, query: dict[str, str] | None = None, widgets: tuple = ()) -> Run:
        """Run ``page`` with ``query`` and the given widget states; wait until it finished."""
        self.page, self.query = page, dict(query or {})
        back = BackMsg()
        back.rerun_script.query_string = urllib.parse.urlencode(self.query)
        back.rerun_script.page_name = page
        back.rerun_script.widget_states.widgets.extend(widgets)
        run = Run()
        started = time.perf_counter()
        async with asyncio.timeout(self.timeout):
            await self.socket.send(back.SerializeToString())
            async for message in self._messages():
                kind = message.WhichOneof("type")
                if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                    _collect(message.delta.new_element, run)
                elif kind == "script_finished" and message.script_finished != EARLY_FOR_RERUN:
                    run.finished = message.script_finished == FINISHED
                    break
        run.seconds = time.perf_counter() - started
        return run

    async def upload(self, widget_id: str, name: str, data: bytes) -> WidgetState:
        """Put ``data`` where the browser would and return the file box's new widget state."""
        request_id = uuid.uuid4().hex
        back = BackMsg()
        back.file_urls_request.request_id = request_id
        back.file_urls_request.session_id = self.session_id
        back.file_urls_request.file_names.append(name)
        async with asyncio.timeout(self.timeout):
            await self.socket.send(back.SerializeToString())
            async for message in self._messages():
                if (
                    message.WhichOneof("type") == "file_urls_response"
                    and message.file_urls_response.response_id == request_id
                ):
                    urls = message.file_urls_response.file_urls[0]
                    break
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
                "\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": self.xsrf,
            "Cookie": f"_streamlit_xsrf={self.xsrf}",
        }
        status, _, answer = await asyncio.to_thread(
            _http, "PUT", self.base + urls.upload_url, body, headers, self.timeout
        )
        scan(answer, f"{self.name} (upload response)")
        if status >= 400:
            raise RuntimeError(f"upload refused with HTTP {status}: {answer[:200]!r}")
        state = WidgetState(id=widget_id)
        state.file_uploader_state_value.uploaded_file_info.append(
            UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls)
        )
        return state


def _http(
    method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout=60.0
) -> tuple[int, list[str], bytes]:
    """(status, Set-Cookie headers, body) of one request (the standard library: no extra)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get_all("Set-Cookie") or [], response.read()
    except urllib.error.HTTPError as error:
        return error.code, [], error.read()


def _collect(element, run: Run) -> None:
    kind = element.WhichOneof("type")
    if kind == "exception":
        run.exceptions.append(f"{element.exception.type}: {element.exception.message}")
    elif kind == "markdown":
        run.texts.append(element.markdown.body)
    elif kind == "alert":
        run.texts.append(element.alert.body)
    elif kind == "file_uploader":
        run.uploaders[element.file_uploader.label] = element.file_uploader.id
    elif kind == "button":
        run.buttons[element.button.label] = element.button.id
    elif kind == "number_input":
        run.number_inputs[element.number_input.label] = element.number_input.id
    elif kind == "selectbox":
        box = element.selectbox
        options = list(box.options)
        shown = options[box.default] if box.HasField("default") and options else ""
        run.selectboxes[box.id] = shown  # a keyed widget's id ends with its key


def _box(run: Run, starts: str) -> str:
    for label, widget_id in run.uploaders.items():
        if label.startswith(starts):
            return widget_id
    raise RuntimeError(f"no file box starting {starts!r} on {run.uploaders}")


# ---- the hostile visitors ----------------------------------------------------------------------


@dataclass
class Hostile:
    """One hostile visitor: what was sent, how long the page took, what the visitor was told."""

    name: str
    sent: str
    seconds: float = 0.0
    told: str = ""
    refused: bool = False
    exceptions: list[str] = field(default_factory=list)
    error: str | None = None
    page_text: list[str] = field(default_factory=list)  # the page's texts, cut (JSON only)


def mxl_bomb(comment_bytes: int = 200 * 2**20) -> bytes:
    """A .mxl whose one member unpacks to ``comment_bytes`` of comment (written in chunks)."""
    head, tail = musicxml(4).split(b'<part id="P1">', 1)
    buffer = io.BytesIO()
    chunk = b" " * 2**20
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("score.musicxml", "w", force_zip64=True) as member:
            member.write(head + b"<!--")
            for _ in range(comment_bytes // len(chunk)):
                member.write(chunk)
            member.write(b'-->  <part id="P1">' + tail)
    return buffer.getvalue()


def hostile_files() -> dict[str, tuple[str, str, str, bytes]]:
    """name -> (which page, its file box, file name, the bytes)."""
    conll = b"word\tO\n" * (4_900_000 // 7)
    return {
        "MIDI, one note of 50,000 ticks": ("music", MUSIC_BOX, "long.mid", midi_one_note(50_000)),
        "MusicXML, <duration>100000000</duration>": (
            "music",
            MUSIC_BOX,
            "long.musicxml",
            musicxml(100_000_000),
        ),
        ".mxl with a 200 MB comment": ("music", MUSIC_BOX, "bomb.mxl", mxl_bomb()),
        "CoNLL, 700k tokens, no blank line": ("tagger", CONLL_BOX, "big.conll", conll),
    }


REFUSALS = {
    "MIDI, one note of 50,000 ticks": "longer than",
    "MusicXML, <duration>100000000</duration>": "longer than",
    ".mxl with a 200 MB comment": "may unpack to at most",
    "CoNLL, 700k tokens, no blank line": "cannot be read",
}


def _told(run: Run, words: str) -> str:
    for text in run.texts:
        if words in text:
            return text
    return " | ".join(t for t in run.texts if "🚫" in t or "limit" in t)[:300]


async def upload_visitor(
    server, name: str, spec: tuple[str, str, str, bytes], timeout: float
) -> Hostile:
    where, box, file_name, data = spec
    page, query = ("Gated_RNN", {"view": "music"}) if where == "music" else ("Tagger", {})
    result = Hostile(name, f"/{page} upload {file_name}, {len(data):,} bytes")
    try:
        async with Tab(server.host, server.port, name, timeout) as tab:
            first = await tab.run(page, query)
            result.exceptions = list(first.exceptions)
            state = await tab.upload(_box(first, box), file_name, data)
            run = await tab.run(page, query, (state,))
            result.seconds = run.seconds
            result.exceptions += run.exceptions
            result.told = _told(run, REFUSALS[name])
            result.refused = REFUSALS[name] in result.told
    except Exception as error:  # noqa: BLE001 - counted as a failed visitor, the run goes on
        result.error = f"{type(error).__name__}: {error}"
    return result


LINKS = {
    "LoRA rank = a markdown link to a fake login": ("LoRA", {"rank": FAKE_LOGIN}),
    "tour = ²": ("", {"tour": "²"}),
    "DeBERTa word = ²": ("DeBERTa", {"word": "²"}),
    "Attribution steps = abc": ("Attribution", {"steps": "abc"}),
}


async def link_visitor(server, name: str, timeout: float) -> Hostile:
    page, query = LINKS[name]
    result = Hostile(name, f"/{page}?" + "&".join(f"{k}={v}" for k, v in query.items()))
    try:
        async with Tab(server.host, server.port, name, timeout) as tab:
            run = await tab.run(page, query)
            result.seconds, result.exceptions = run.seconds, run.exceptions
            live = [t for t in run.texts if FAKE_LOGIN in t]
            result.refused = run.finished and not live
            result.told = "a live fake-login link is on the page" if live else "page drawn"
    except Exception as error:  # noqa: BLE001
        result.error = f"{type(error).__name__}: {error}"
    return result


async def start_dataset_attribution(server, rows: int, timeout: float):
    """Upload ``rows`` reviews on the Attribution page's data-set tab and press its button.

    Returns the open tab and the task reading the run, so that the lock stays held while the
    other visitors come; the caller awaits the task.
    """
    tab = Tab(server.host, server.port, "data-set attribution", timeout)
    await tab.__aenter__()
    first = await tab.run("Attribution")
    # the data-set tab's own model box (other tabs have boxes labelled "Model" too)
    shown = next(v for k, v in first.selectboxes.items() if k.endswith("_ds_model"))
    data = "\n".join(
        f"review {i}: the acting is {'wonderful' if i % 2 else 'dull'} and the plot is thin"
        for i in range(rows)
    ).encode()
    state = await tab.upload(_box(first, DATASET_BOX), "reviews.txt", data)
    second = await tab.run("Attribution", {}, (state,))
    button = next((i for label, i in second.buttons.items() if label.startswith("Attribute")), "")
    if not button:
        raise RuntimeError(f"no 'Attribute N rows' button after the upload: {second.buttons}")
    press = WidgetState(id=button, trigger_value=True)
    # the progress bar is drawn just before the run takes the model's lock
    tab.watch = {f"Attributing {rows:,} rows".encode(): asyncio.Event()}
    # the page reads 200 rows unless told otherwise (its number box; Streamlit sends doubles)
    count = WidgetState(id=second.number_inputs["Rows to read"], double_value=float(rows))
    task = asyncio.create_task(tab.run("Attribution", {}, (state, count, press)))
    return tab, task, shown


async def lock_visitors(server, rows: int, started: asyncio.Event, timeout: float):
    """The data-set attribution, and a visitor who needs the same model meanwhile."""
    holder = Hostile("data-set attribution (holds the model's lock)", "")
    waiter = Hostile("Attribution with the locked model, meanwhile", "")
    try:
        tab, task, shown = await start_dataset_attribution(server, rows, timeout)
        holder.sent = f"{rows} rows, {shown}, Integrated Gradients"
        model = model_keys()[shown]
        started_bar = next(iter(tab.watch.values()))
        await asyncio.wait_for(started_bar.wait(), timeout)
        await asyncio.sleep(0.5)  # the run has taken the lock by now
        started.set()
        query = {"models": model, "methods": "ig", "text": "a thin plot, fine acting"}
        waiter.sent = f"/Attribution?models={model}&methods=ig&text=(new)"
        async with Tab(server.host, server.port, waiter.name, timeout) as other:
            run = await other.run("Attribution", query)
            waiter.seconds, waiter.exceptions = run.seconds, list(run.exceptions)
            # on a busy machine the page's estimate may pass its auto-run limit: press Run
            button = next((i for t, i in run.buttons.items() if t.startswith("Run the grid")), "")
            if button:
                press = WidgetState(id=button, trigger_value=True)
                run = await other.run("Attribution", query, (press,))
                waiter.seconds += run.seconds
                waiter.exceptions += run.exceptions
        waiter_end = time.perf_counter()
        waiter.page_text = [t[:200] for t in run.texts]
        done = await task
        # Streamlit sends only the newest state of the progress bar, so "100%" may never come:
        # an update after the grid was drawn means the rows were still running then
        later = [percent for at, percent in tab.progress if at > waiter_end]
        before = [(at, percent) for at, percent in tab.progress if at <= waiter_end]
        last_at, last_percent = before[-1] if before else (float("nan"), 0)
        waiter.refused = run.finished and not later
        waiter.told = (
            f"grid drawn while the data-set run was still going (at {later[0]}%)"
            if later
            else f"grid drawn {waiter_end - last_at:.2f} s after the data-set run's last "
            f"progress update ({last_percent}%), no update after it"
        ) + (" (its Run button pressed)" if button else "")
        holder.seconds, holder.exceptions = done.seconds, done.exceptions
        holder.told = next((t for t in done.texts if "rows read" in t), "no result line")
        holder.refused = done.finished and "rows read" in holder.told
        await tab.__aexit__()
    except Exception as error:  # noqa: BLE001
        holder.error = holder.error or f"{type(error).__name__}: {error}"
        started.set()
    return [holder, waiter]


def model_keys() -> dict[str, str]:
    """The Attribution page's model labels -> checkpoint names (its selectboxes show labels)."""
    from nlpviz.ui.attribution import CATALOGUE

    return {choice.label: key for key, choice in CATALOGUE.items()}


# ---- memory --------------------------------------------------------------------------------


class TreeMemory:
    """Peak resident memory of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                sizes = tree_rss(self.pid)
            except OSError:  # the server has gone
                continue
            total, children = sum(sizes), len(sizes) - 1
            self.peak = max(self.peak, total)
            self.peak_children = max(self.peak_children, children)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def tree_rss(pid: int) -> list[int]:
    """Resident bytes of ``pid`` and of each of its descendants (``pid``'s first)."""
    if psutil is not None:
        try:
            root = psutil.Process(pid)
            sizes = [root.memory_info().rss]
            for child in root.children(recursive=True):
                try:
                    sizes.append(child.memory_info().rss)
                except psutil.Error:  # ended between the listing and the read
                    pass
            return sizes
        except psutil.Error as error:
            raise OSError(str(error)) from None
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    page = os.sysconf("SC_PAGE_SIZE")
    sizes, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        try:
            sizes.append(int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page)
        except (OSError, IndexError, ValueError):
            if current == pid:
                raise OSError(f"no process {pid}") from None
            continue
        todo += parents.get(current, [])
    return sizes


def high_water_mark(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- stages --------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    times: list[float]
    errors: list[str]
    peak_tree_bytes: int
    seconds: float
    hostile: list[Hostile] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(self.times, 50)

    @property
    def p95(self) -> float:
        return percentile(self.times, 95)


async def ordinary(server, n: int, first_id: int, timeout: float, wait: Awaitable | None = None):
    if wait is not None:
        await wait
    visits, _ = await run_stage(server, n, first_id, timeout)
    return visits


async def hostile_traffic(server, files, rows: int, started: asyncio.Event, timeout: float):
    lock_task = asyncio.create_task(lock_visitors(server, rows, started, timeout))
    await started.wait()
    others = [upload_visitor(server, name, spec, timeout) for name, spec in files.items()]
    others += [link_visitor(server, name, timeout) for name in LINKS]
    results = await asyncio.gather(*others)
    return [*await lock_task, *results]


def run_one_stage(server, name, n, first_id, timeout, files=None, rows=0) -> Stage:
    async def both():
        if files is None:
            return await ordinary(server, n, first_id, timeout), []
        started = asyncio.Event()
        visits, hostile = await asyncio.gather(
            ordinary(server, n, first_id, timeout, started.wait()),
            hostile_traffic(server, files, rows, started, timeout),
        )
        return visits, hostile

    began = time.perf_counter()
    with TreeMemory(server.process.pid) as memory:
        visits, hostile = asyncio.run(both())
    stage = Stage(
        name,
        [v.seconds for v in visits if v.ok],
        [f"{v.page}: {v.error or v.exceptions}" for v in visits if not v.ok],
        memory.peak,
        time.perf_counter() - began,
        hostile,
    )
    print(
        f"{name}: {n} sessions p50 {stage.p50:.2f} s, p95 {stage.p95:.2f} s, "
        f"errors {len(stage.errors)}, server tree peak {memory.peak / 2**20:.0f} MB "
        f"({memory.peak_children} children at most)",
        flush=True,
    )
    return stage


def warm_up(server, timeout: float) -> dict[str, float]:
    """Every page the stages use, once: a classroom server has its models loaded already."""
    visits = {page: (page, make(0)) for page, make in PAGES.items()}
    visits |= {
        "Gated_RNN music": ("Gated_RNN", {"view": "music"}),
        "Tagger": ("Tagger", {}),
        "Attribution": ("Attribution", {}),
        "LoRA": ("LoRA", {}),
        "DeBERTa": ("DeBERTa", {}),
        "landing": ("", {}),
    }
    seconds = {}
    for name, (page, query) in visits.items():
        visit = asyncio.run(visit_page(server.host, server.port, page, query, timeout))
        if not visit.ok:
            raise RuntimeError(f"warm-up of {name} failed: {visit.error or visit.exceptions}")
        seconds[name] = round(visit.seconds, 2)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="ordinary sessions at once")
    parser.add_argument("--rows", type=int, default=400, help="rows of the data-set attribution")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per visit")
    parser.add_argument("--quick", action="store_true", help="6 sessions, 120 rows, 1 baseline")
    parser.add_argument("--json", type=Path, default=REPO / "artifacts" / "bench_abuse.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.rows = min(args.sessions, 6), min(args.rows, 120)
    n = min(max(1, args.sessions), 40)
    streamlit_ws.ForwardMsg = ScanningForwardMsg  # scan what the ordinary sessions receive
    files = hostile_files()
    model_keys()  # imported now, not while the stages are timed
    log = Path(tempfile.mkdtemp(prefix="nlpviz-abuse-")) / "server.log"
    print(f"server log: {log}")
    load_start = os.getloadavg()
    started = time.perf_counter()
    with running_app(log) as server:
        cold = warm_up(server, args.timeout)
        print("warm-up (cold first views): " + ", ".join(f"{k} {v} s" for k, v in cold.items()))
        stages = [run_one_stage(server, "baseline", n, 1, args.timeout)]
        stages.append(
            run_one_stage(server, "hostile", n, 1001, args.timeout, files=files, rows=args.rows)
        )
        if not args.quick:
            stages.append(run_one_stage(server, "baseline again", n, 2001, args.timeout))
        server_hwm = high_water_mark(server.process.pid)
        server_log = log.read_text(encoding="utf-8", errors="replace")
    load_end = os.getloadavg()
    total = time.perf_counter() - started

    baselines = [s for s in stages if s.name != "hostile"]
    hostile = next(s for s in stages if s.name == "hostile")
    base_p95 = sum(s.p95 for s in baselines) / len(baselines)
    ratio = hostile.p95 / base_p95
    peak = max(s.peak_tree_bytes for s in stages)
    exceptions = [e for h in hostile.hostile for e in h.exceptions]
    failed = [h for h in hostile.hostile if h.error or not h.refused]
    errors = [e for s in stages for e in s.errors]

    print()
    print(
        f"{os.cpu_count()} CPUs; load average {load_start[0]:.1f} at the "
        f"start, {load_end[0]:.1f} at the end; {total:.0f} s in all"
    )
    print()
    print("| stage | sessions | p50 to a finished view | p95 | errors | server tree peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in stages:
        print(
            f"| {s.name} | {len(s.times) + len(s.errors)} | {s.p50:.2f} s | {s.p95:.2f} s | "
            f"{len(s.errors)} | {s.peak_tree_bytes / 2**20:,.0f} MB |"
        )
    print()
    print("| hostile visitor | sent | page finished after | told / outcome |")
    print("|---|---|---:|---|")
    for h in hostile.hostile:
        told = (h.error or h.told).replace("\\", "").replace("|", "/").replace("\n", " ")[:160]
        print(f"| {h.name} | {h.sent} | {h.seconds:.2f} s | {told} |")
    print()
    print(
        f"Frames scanned: {Scan.frames:,}; tracebacks in them: {len(Scan.tracebacks)}; "
        f"exception elements: {len(exceptions)} (hostile), {len(errors)} failed ordinary views. "
        f"Server high-water mark {server_hwm / 2**20:,.0f} MB; 'Traceback' in the server's log: "
        f"{server_log.count('Traceback')}."
    )
    targets = [
        (
            "hostile p95 <= 1.5x the baseline p95",
            f"{hostile.p95:.2f} s / {base_p95:.2f} s = {ratio:.2f}x",
            ratio <= 1.5,
        ),
        ("server tree peak < 2.5 GB", f"{peak / 2**30:.2f} GB", peak < 2.5 * 2**30),
        (
            "no traceback or exception element reaches a browser",
            f"{len(Scan.tracebacks)} tracebacks, {len(exceptions)} exception elements",
            not Scan.tracebacks and not exceptions,
        ),
        ("ordinary views all finished", f"{len(errors)} errors", not errors),
        (
            "every hostile visitor refused or served, with a message",
            f"{len(failed)} not",
            not failed,
        ),
    ]
    print()
    print("| target | measured | result |")
    print("|---|---|---|")
    for target, measured, passed in targets:
        print(f"| {target} | {measured} | {'PASS' if passed else 'FAIL'} |")
    for line in Scan.tracebacks[:5] + errors[:5] + [f"{h.name}: {h.error}" for h in failed]:
        print("problem:", line)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "sessions": n,
        "rows": args.rows,
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "load_average": [load_start[0], load_end[0]],
        "warm_up_seconds": cold,
        "stages": [
            {
                "name": s.name,
                "times": s.times,
                "p50": s.p50,
                "p95": s.p95,
                "errors": s.errors,
                "peak_tree_rss_bytes": s.peak_tree_bytes,
                "seconds": s.seconds,
            }
            for s in stages
        ],
        "hostile": [asdict(h) for h in hostile.hostile],
        "p95_ratio": ratio,
        "server_high_water_mark_bytes": server_hwm,
        "frames_scanned": Scan.frames,
        "tracebacks": Scan.tracebacks,
        "server_log_tracebacks": server_log.count("Traceback"),
        "targets": [{"target": t, "measured": m, "passed": p} for t, m, p in targets],
    }
    args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwrote {args.json.relative_to(REPO) if args.json.is_relative_to(REPO) else args.json}")
    return 0 if all(passed for _, _, passed in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
