#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: it makes a Python
# @@PYTHON@@ virtual environment with the grader's dependencies (uv downloads the interpreter, so
# exercises that need a newer Python than the image's are graded, not skipped).
set -euo pipefail
SOURCE="${ASYNCIO_KIT_SOURCE:-/autograder/source}"
VENV="${ASYNCIO_KIT_VENV:-/autograder/venv}"
if ! command -v curl >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends curl ca-certificates
fi
curl -LsSf https://astral.sh/uv/install.sh | env UV_INSTALL_DIR=/usr/local/bin INSTALLER_NO_MODIFY_PATH=1 sh
uv venv --python "@@PYTHON@@" "$VENV"
uv pip install --python "$VENV/bin/python" -r "$SOURCE/requirements.txt"
