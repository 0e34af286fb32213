"""A minimal Streamlit client that speaks the browser's websocket protocol (Streamlit 1.67).

Used by the isolation test and by ``benchmarks/bench_load.py``: each ``PageVisit`` is one browser
tab's session (its own websocket, so its own ``st.session_state``), without the cost of a
browser. It opens a page by name with a query string, exactly as a shared link does, and waits
until the script run has finished, collecting what the page drew.

Protocol, as the frontend does it: connect to ``/_stcore/stream`` with the ``streamlit``
subprotocol and an Origin the server accepts, send a ``BackMsg`` with ``rerun_script`` (the
page's name and query string), then read ``ForwardMsg``s until ``script_finished``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


@dataclass
class PageVisit:
    """What one session saw: timings, the elements drawn, and any exception shown."""

    page: str
    query: dict[str, str]
    seconds: float = 0.0
    finished: bool = False
    exceptions: list[str] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)
    plotly_specs: list[dict] = field(default_factory=list)
    text_areas: dict[str, str] = field(default_factory=dict)  # label -> value
    final_query: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.finished and not self.exceptions and self.error is None


def _elements(message: ForwardMsg, visit: PageVisit, light: bool = False) -> None:
    delta = message.delta
    if delta.WhichOneof("type") != "new_element":
        return
    element = delta.new_element
    kind = element.WhichOneof("type")
    if kind == "exception":
        visit.exceptions.append(f"{element.exception.type}: {element.exception.message}")
    elif light:
        if kind == "plotly_chart":
            visit.plotly_specs.append({})  # counted, not parsed
    elif kind == "markdown":
        visit.markdown.append(element.markdown.body)
    elif kind == "plotly_chart":
        visit.plotly_specs.append(json.loads(element.plotly_chart.spec or "{}"))
    elif kind == "text_area":
        visit.text_areas[element.text_area.label] = element.text_area.value


async def visit_page(
    host: str,
    port: int,
    page: str,
    query: dict[str, str] | None = None,
    timeout: float = 120.0,
    base_path: str = "",
    headers: dict[str, str] | None = None,
    hold: asyncio.Event | None = None,
    on_finished: Callable[[PageVisit], None] | None = None,
    light: bool = False,
) -> PageVisit:
    """Open ``page`` ("" for the landing page) with ``?query`` in a new session and wait.

    ``timeout`` bounds the whole visit; a visit that runs out reports ``error`` instead of
    raising, so a load test counts it and goes on. With ``hold``, the session stays connected
    (as an open browser tab does) until the event is set; ``on_finished`` is called once, when
    the run has finished or failed, before that wait. ``light`` keeps only exceptions and a
    count of figures (a load test's client must not eat the CPU the server is measured on).
    """
    query = dict(query or {})
    visit = PageVisit(page=page, query=query)
    origin = f"http://{host}:{port}"
    url = f"ws://{host}:{port}{base_path}/_stcore/stream"
    back = BackMsg()
    back.rerun_script.query_string = urllib.parse.urlencode(query)
    back.rerun_script.page_name = page
    start = time.perf_counter()
    try:
        async with websockets.connect(
            url,
            subprotocols=["streamlit"],
            origin=origin,
            additional_headers=headers or {},
            max_size=64 * 2**20,
            open_timeout=timeout,
        ) as socket:
            async with asyncio.timeout(timeout):
                await socket.send(back.SerializeToString())
                async for raw in socket:
                    message = ForwardMsg()
                    message.ParseFromString(raw)
                    kind = message.WhichOneof("type")
                    if kind == "delta":
                        _elements(message, visit, light)
                    elif kind == "page_info_changed":
                        visit.final_query = message.page_info_changed.query_string
                    elif kind == "page_not_found":
                        visit.error = f"page not found: {page!r}"
                        break
                    elif kind == "script_finished":
                        if message.script_finished == EARLY_FOR_RERUN:
                            continue  # st.rerun(): the next run follows on the same socket
                        visit.finished = message.script_finished == FINISHED
                        break
            visit.seconds = time.perf_counter() - start
            if on_finished is not None:
                on_finished(visit)
            if hold is not None:
                await hold.wait()
            return visit
    except TimeoutError:
        visit.error = f"no finished run within {timeout:.0f} s"
    except (OSError, websockets.WebSocketException) as error:
        visit.error = f"{type(error).__name__}: {error}"
    if not visit.seconds:
        visit.seconds = time.perf_counter() - start
        if on_finished is not None:
            on_finished(visit)
    return visit


def visit_page_sync(
    host: str, port: int, page: str, query: dict[str, str] | None = None, timeout: float = 120.0
) -> PageVisit:
    """``visit_page`` for code that is not async (tests)."""
    return asyncio.run(visit_page(host, port, page, query, timeout))


async def visit_many(
    host: str,
    port: int,
    visits: list[tuple[str, dict[str, str]]],
    timeout: float = 120.0,
    hold: asyncio.Event | None = None,
    on_finished: Callable[[PageVisit], None] | None = None,
    light: bool = False,
) -> list[PageVisit]:
    """All visits at once, each in its own session (concurrent websockets)."""
    return list(
        await asyncio.gather(
            *(
                visit_page(
                    host, port, p, q, timeout, hold=hold, on_finished=on_finished, light=light
                )
                for p, q in visits
            )
        )
    )
