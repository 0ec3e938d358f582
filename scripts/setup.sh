#!/usr/bin/env bash
# Set up everything the toolchain needs, idempotently: Debian packages, then a virtual
# environment with the Python packages. Usage: scripts/setup.sh report|test
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-report}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"

# --- Debian packages -------------------------------------------------------------
wanted=()
while read -r package use; do
  [[ -z "$package" || "$package" == \#* ]] && continue
  if [[ "$use" == "report" || "$purpose" == "test" ]]; then wanted+=("$package"); fi
done < scripts/debian-packages.txt
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# --- Python packages ------------------------------------------------------------
extras=""; [[ "$purpose" == "test" ]] && extras="[test]"
hash=$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup: creating $venv"
  "$python" -m venv "$venv"
fi
if [[ -f "$venv/.installed-$hash-test" || ( "$purpose" == "report" && -f "$venv/.installed-$hash-report" ) ]]; then
  echo "setup: Python packages up to date"
else
  echo "setup: installing Python packages into $venv"
  log="$venv/pip-install.log"
  { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
    "$venv/bin/python" -m pip install --disable-pip-version-check -e ".$extras"; } >"$log" 2>&1 ||
    { tail -n 40 "$log" >&2; echo "setup: pip failed, full log in $log" >&2; exit 1; }
  rm -f "$venv"/.installed-*
  touch "$venv/.installed-$hash-$purpose"
fi
