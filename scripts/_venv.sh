# Sourced by the scripts: create .venv with Python 3.11 and install what it needs.
# Re-running is cheap: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "nlpviz needs Python 3.11; found $("$PYTHON" --version 2>&1) at $PYTHON" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
VENV_PY="$PWD/.venv/bin/python"
# install_project [EXTRA]: nlpviz (editable) with pyproject.toml's dependencies, plus the
# optional ones of EXTRA (dev, train). pyproject.toml is the one list of requirements.
install_project() {
    local target="."
    [ -n "${1:-}" ] && target=".[$1]"
    local stamp=".venv/.installed-$(echo "$target" | cat - pyproject.toml scripts/_venv.sh \
        | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        "$VENV_PY" -m pip install --quiet --disable-pip-version-check -e "$target"
        touch "$stamp"
    fi
}
