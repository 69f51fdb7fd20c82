#!/usr/bin/env bash
# Everything a fresh machine needs: Debian packages (where apt is available), a virtualenv with
# the pinned requirements. Idempotent and quick on a second run.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(fonts-nanum libharfbuzz-subset0 poppler-utils)
if [ "${WITH_BROWSER:-0}" = "1" ]; then apt_packages+=(chromium); fi

if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" != "0" ]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
    fi
    if [ "$(id -u)" = "0" ] || [ -n "$sudo" ]; then
      echo "setup: installing Debian packages: ${missing[*]}"
      $sudo apt-get update -q >/dev/null || true
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null || echo "setup: WARNING: could not install ${missing[*]}"
    else
      echo "setup: WARNING: missing ${missing[*]} (no root/sudo); Korean PDFs may lack fonts"
    fi
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing requirements"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi

# The accessibility tests (tests/test_browser_a11y.py) inject axe-core into each page. npm puts
# it in .cache/axe (gitignored); without npm the tests skip and say why.
AXE_VERSION=4.14.1
if [ "${WITH_BROWSER:-0}" = "1" ]; then
  axe=.cache/axe/node_modules/axe-core
  if command -v npm >/dev/null 2>&1; then
    if [ "$(node -p "require('./$axe/package.json').version" 2>/dev/null)" != "$AXE_VERSION" ]; then
      echo "setup: installing axe-core $AXE_VERSION"
      mkdir -p .cache/axe
      npm install --prefix .cache/axe --no-save --no-audit --no-fund --silent \
        "axe-core@$AXE_VERSION" >/dev/null || echo "setup: WARNING: could not install axe-core"
    fi
  fi
fi
