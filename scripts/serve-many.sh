#!/usr/bin/env bash
# Serve nlpviz to more users than one process can: several `streamlit run` processes on loopback
# behind Debian's nginx with sticky sessions (deploy/nginx.conf.in).
#
#   bash scripts/serve-many.sh [PROCESSES] [PORT]     # default: 2 processes, port 8501
#
# Students open http://THIS-MACHINE:PORT. Ctrl-C stops nginx and every app process.
source "$(dirname "$0")/_venv.sh"
install_project
PROCESSES="${1:-2}"
PORT="${2:-8501}"
FIRST_APP_PORT="${NLPVIZ_FIRST_APP_PORT:-8511}"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "Installing Debian's nginx…"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
PREFIX="${NLPVIZ_PROXY_DIR:-${NLPVIZ_CACHE:-$HOME/.cache/nlpviz}/proxy}"
mkdir -p "$PREFIX"

upstreams=""
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait; }
trap cleanup EXIT INT TERM
for ((i = 0; i < PROCESSES; i++)); do
    app_port=$((FIRST_APP_PORT + i))
    upstreams+="server 127.0.0.1:${app_port};"
    "$VENV_PY" -m streamlit run app.py --server.headless true --server.address 127.0.0.1 \
        --server.port "$app_port" --browser.gatherUsageStats false \
        > "$PREFIX/app-$app_port.log" 2>&1 &
    pids+=($!)
done
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LISTEN@|0.0.0.0:$PORT|g" \
    -e "s|@UPSTREAMS@|$upstreams|g" -e "s|@USER@|$user|g" \
    deploy/nginx.conf.in > "$PREFIX/nginx.conf"
"$NGINX" -t -q -p "$PREFIX" -c "$PREFIX/nginx.conf"
echo "nlpviz: $PROCESSES app processes behind nginx at http://localhost:$PORT (logs in $PREFIX)"
"$NGINX" -p "$PREFIX" -c "$PREFIX/nginx.conf" -g "daemon off;" &
pids+=($!)
wait
