#!/usr/bin/env bash
# Set up .venv (first run only), make sure headless Chromium is there, run the whole test suite:
# unit tests, Streamlit AppTest tests, the browser tests and the proxy test (nginx).
source "$(dirname "$0")/_venv.sh"
install_project dev
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/sbin/nginx ]; then
    echo "Installing Debian's chromium, chromium-driver and nginx for the browser and proxy tests…"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver nginx >/dev/null
fi
exec "$VENV_PY" -m pytest "$@"
