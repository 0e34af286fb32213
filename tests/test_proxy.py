"""Two app processes behind nginx (deploy/nginx.conf.in): sessions stick, both processes serve.

Starts two ``streamlit run`` processes on loopback and Debian's nginx in front of them with the
project's config, then acts as several browsers: each fetches the page (and gets its route
cookie), fetches again and opens a page's websocket session through the proxy. nginx's access
log says which process answered each request: every browser must stay on one process, and the
browsers together must reach both.
"""

from __future__ import annotations

import asyncio
import http.cookies
import os
import shutil
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from app_server import REPO_ROOT, free_port, running_app, stop, wait_healthy
from streamlit_ws import visit_page

pytestmark = pytest.mark.server

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
BROWSERS = 8


def render_config(prefix: Path, listen: str, app_ports: list[int]) -> str:
    """The same substitutions as scripts/serve-many.sh."""
    template = (REPO_ROOT / "deploy" / "nginx.conf.in").read_text()
    upstreams = "".join(f"server 127.0.0.1:{port};" for port in app_ports)
    user = "user root;" if os.geteuid() == 0 else ""
    for name, value in (
        ("@PREFIX@", str(prefix)),
        ("@LISTEN@", listen),
        ("@UPSTREAMS@", upstreams),
        ("@USER@", user),
    ):
        template = template.replace(name, value)
    return template


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    if NGINX is None:
        message = "the proxy test needs nginx (apt-get install nginx, or run scripts/test.sh)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("proxy")
    with (
        running_app(folder / "app-a.log") as app_a,
        running_app(folder / "app-b.log") as app_b,
    ):
        port = free_port()
        (folder / "nginx.conf").write_text(
            render_config(folder, f"127.0.0.1:{port}", [app_a.port, app_b.port])
        )
        check = subprocess.run(
            [NGINX, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "nginx.out", "wb"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process, folder / "error.log", 30)
            yield port, folder, {app_a.port, app_b.port}
        finally:
            stop(process)


def _get(url: str, cookie: str | None) -> str | None:
    """GET through the proxy; returns the route cookie the proxy set."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        jar = http.cookies.SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return jar["nlpviz_route"].value if "nlpviz_route" in jar else None


def _routes(log: Path) -> dict[str, set[str]]:
    """route -> the upstream addresses nginx sent its requests to."""
    served: dict[str, set[str]] = defaultdict(set)
    for line in log.read_text().splitlines():
        route, upstream, *_ = line.split()
        served[route].add(upstream)
    return served


def test_sessions_stick_and_both_processes_serve(proxy) -> None:
    port, folder, app_ports = proxy
    base = f"http://127.0.0.1:{port}"
    routes = []
    for _ in range(BROWSERS):
        route = _get(f"{base}/", None)
        assert route, "the proxy set no route cookie on the first request"
        assert _get(f"{base}/Kim_CNN", f"nlpviz_route={route}") == route
        routes.append(route)
    assert len(set(routes)) == BROWSERS, "browsers must get distinct routes"

    async def open_sessions():
        return await asyncio.gather(
            *(
                visit_page(
                    "127.0.0.1",
                    port,
                    "Kim_CNN",
                    {"text": f"a moving film number {i}"},
                    timeout=120,
                    headers={"Cookie": f"nlpviz_route={route}"},
                )
                for i, route in enumerate(routes)
            )
        )

    visits = asyncio.run(open_sessions())
    for visit in visits:
        assert visit.ok, f"{visit.error or visit.exceptions}"
        assert visit.plotly_specs, "the page drew no figure through the proxy"

    time.sleep(0.5)  # nginx writes the access log line when a websocket closes
    served = _routes(folder / "access.log")
    for route in routes:
        assert route in served, f"no request of route {route} in the access log"
        assert len(served[route]) == 1, f"route {route} was served by {served[route]}"
    reached = {address.rsplit(":", 1)[1] for route in routes for address in served[route]}
    assert reached == {str(p) for p in app_ports}, f"only {reached} of {app_ports} served"
    websocket_lines = [
        line
        for line in (folder / "access.log").read_text().splitlines()
        if "_stcore/stream" in line
    ]
    assert len(websocket_lines) >= BROWSERS, "the websocket sessions did not go through nginx"
