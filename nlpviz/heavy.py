"""One heavy job at a time per server, in arrival order.

Heavy work (a live LoRA sweep, attribution over a whole data set) takes the CPU for seconds to
minutes. On a classroom server forty students share two cores: if every student could start
one, nobody's page would answer. So heavy jobs wait in one first-come-first-served line per
server process; light work (drawing a page for a sentence) never waits in it. The server's owner
can turn heavy work off altogether (``NLPVIZ_DISABLE_HEAVY_WORK=1``).

Plain Python (no streamlit): ``nlpviz.ui.heavy`` draws the waiting line for a page.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from nlpviz import settings

DISABLE_ENV = settings.DISABLE_HEAVY_WORK.name
LEGACY_DISABLE_ENV = settings.DISABLE_LIVE_TRAINING.name  # older name; still turns heavy work off


def heavy_work_disabled() -> bool:
    """True when the server's owner turned heavy work off (a config setting: env variable)."""
    return settings.heavy_work_disabled()


@dataclass(frozen=True)
class Ticket:
    """A place in the line: who asked, for what, when."""

    number: int
    owner: str
    label: str
    since: float = field(default_factory=time.time)


class HeavyLine:
    """A FIFO line with one job running at a time (the head of the line)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._line: list[Ticket] = []
        self._numbers = itertools.count(1)
        self._held: dict[str, Ticket] = {}  # owner -> ticket taken by try_hold (no waiting)

    def join(self, owner: str, label: str) -> Ticket:
        with self._cond:
            ticket = Ticket(next(self._numbers), owner, label)
            self._line.append(ticket)
            return ticket

    def try_start_now(self, owner: str, label: str) -> Ticket | None:
        """Take the slot only if nobody runs or waits; None otherwise (no place in line)."""
        with self._cond:
            if self._line:
                return None
            ticket = Ticket(next(self._numbers), owner, label)
            self._line.append(ticket)
            return ticket

    def try_hold(self, owner: str, label: str) -> Ticket | None:
        """:meth:`try_start_now`, remembered by owner so that :meth:`release_held` (from a
        later call, e.g. a page's ``finally``) gives it back; None when someone else runs."""
        with self._cond:
            ticket = self.try_start_now(owner, label)
            if ticket is not None:
                self._held[owner] = ticket
            return ticket

    def release_held(self, owner: str) -> None:
        """Give back what ``owner`` took with :meth:`try_hold` (nothing if it holds nothing)."""
        with self._cond:
            ticket = self._held.pop(owner, None)
            if ticket is not None:
                self.leave(ticket)

    def position(self, ticket: Ticket) -> int | None:
        """0: running now; k: k jobs ahead; None: not in the line (left or never joined)."""
        with self._cond:
            try:
                return self._line.index(ticket)
            except ValueError:
                return None

    def wait_turn(self, ticket: Ticket, timeout: float) -> bool:
        """Block up to ``timeout`` s until ``ticket`` is at the head; True when it is."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._line and self._line[0] != ticket:
                if ticket not in self._line:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return bool(self._line) and self._line[0] == ticket

    def leave(self, ticket: Ticket) -> None:
        """Give up the place or the slot (safe to call twice)."""
        with self._cond:
            if ticket in self._line:
                self._line.remove(ticket)
                self._cond.notify_all()

    def running(self) -> Ticket | None:
        with self._cond:
            return self._line[0] if self._line else None

    def waiting(self) -> int:
        with self._cond:
            return max(0, len(self._line) - 1)


HEAVY_LINE = HeavyLine()
"""The one line of this server process (module state on purpose: shared by every session)."""
