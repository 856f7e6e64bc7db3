#!/usr/bin/env bash
# Regenerate the hashed locks from pyproject.toml with uv (`pip install uv`):
#   requirements/all.txt  everything CI installs (.ci/run, .github/workflows/ci.yml)
#   requirements/dev.txt  the README's light set-up: the same versions, fewer packages
# One lock for Python 3.11-3.13 on every OS (--universal: markers, every wheel's hash). Versions
# already in a lock are kept; `bash scripts/lock.sh --upgrade` (or --upgrade-package NAME) moves them.
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--universal --python-version 3.11 --generate-hashes --quiet "$@")
uv pip compile pyproject.toml --extra all -o requirements/all.txt "${common[@]}"
uv pip compile pyproject.toml --extra dev -c requirements/all.txt -o requirements/dev.txt "${common[@]}"
