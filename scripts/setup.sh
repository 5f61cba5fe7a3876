#!/usr/bin/env bash
# Sets up .venv with simvae and its test tools; idempotent, so the README's commands can always call it.
# TORCH_SPEC picks the torch build (default torch==2.13.0: the CPU build on our machines).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
.venv/bin/python -m pip install --quiet -e ".[test]"
# The real Fashion-MNIST, from Debian's registry, where we may install system packages.
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
    || echo "setup: could not install dataset-fashion-mnist; Fashion-MNIST tests will say how to get the data" >&2
fi
# Headless Chromium, from Debian's registry, for the tests that render the HTML reports (tests/conftest.py: render_html).
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "setup: could not install chromium; the HTML rendering tests will fail saying how to get it" >&2
fi
