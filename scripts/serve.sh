#!/usr/bin/env bash
# Set up .venv (first run only) and serve the app at http://localhost:8501.
source "$(dirname "$0")/_venv.sh"
install_project
exec "$VENV_PY" -m streamlit run app.py --server.port 8501 "$@"
