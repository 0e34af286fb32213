"""Start the app as a user would (``streamlit run app.py``) on a free loopback port, and stop it.

Shared by the browser tests, the isolation and proxy tests and ``benchmarks/bench_load.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT = 60  # seconds until /_stcore/health answers "ok"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(could not read the server log {path}: {error})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class AppServer:
    host: str
    port: int
    log: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_tail(self) -> str:
        return f"--- streamlit log tail ({self.log}) ---\n{log_tail(self.log)}"

    def rss_bytes(self) -> int:
        """Resident memory of the server process (the app runs in it, not in children)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS line in /proc status")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)


def stop(process: subprocess.Popen) -> None:
    """Terminate the server's whole process group, escalating to SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no healthy server at {url} after {timeout} s\n{log_tail(log)}")


@contextmanager
def running_app(
    log: Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[AppServer]:
    """``streamlit run app.py`` on loopback; yields once healthy, always stops it."""
    host = "127.0.0.1"
    port = port or free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        # No file watcher: edits to the tree (or checkpoints being written) must not rerun the
        # pages mid-run, and watching .venv/ overflows the inotify queue.
        "--server.fileWatcherType", "none",
        *extra_args,
    ]  # fmt: skip
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://{host}:{port}", process, log, SERVER_START_TIMEOUT)
        yield AppServer(host, port, log, process)
    finally:
        stop(process)
