# Shared by scripts/serve and scripts/test: make .venv from the lock file when needed.
# Usage: . scripts/_env.sh <lock file>
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOCK="$1"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "hubbub needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

VENV="$ROOT/.venv"
STAMP="$VENV/.installed-$(basename "$LOCK")"
WANT="$(cat "$LOCK" pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "setting up .venv from $LOCK ..." >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e . >&2
  rm -f "$VENV"/.installed-*
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
