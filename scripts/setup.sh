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
# System packages from Debian's registry, where we may install them: the real Fashion-MNIST, and headless
# Chromium for the tests that render the HTML reports (tests/conftest.py: render_html).
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "setup: could not install ${missing[*]}; the tests that need them fail saying how to get them" >&2
fi
