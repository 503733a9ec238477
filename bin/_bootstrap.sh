# Sourced by bin/start and bin/test: finds or installs uv, then syncs the locked
# environment. Needs only a Python 3.12+ with pip on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never
export UV_NO_PROGRESS=1

find_uv() {
  if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then echo uv; return; fi
  if python3 -m uv --version >/dev/null 2>&1; then echo "python3 -m uv"; return; fi
  if [ -x var/bootstrap/bin/uv ]; then echo var/bootstrap/bin/uv; return; fi
  return 1
}

if ! UV=$(find_uv); then
  echo "Installing uv (the project's package manager) with pip…"
  python3 -m pip install -q uv >/dev/null 2>&1 \
    || { mkdir -p var && python3 -m venv var/bootstrap && var/bootstrap/bin/pip install -q uv; }
  UV=$(find_uv) || { echo "Could not install uv; install it and retry." >&2; exit 1; }
fi

# .python-version asks for 3.13; any Python 3.12+ on PATH will do when 3.13 is absent.
if ! $UV python find 3.13 >/dev/null 2>&1; then
  UV_PYTHON=$(python3 -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ needed"; print(sys.executable)')
  export UV_PYTHON
fi
$UV sync --frozen --quiet
