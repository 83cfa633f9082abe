#!/usr/bin/env bash
# Installs everything rtgw needs to build and test, from Debian bookworm packages only.
# Idempotent: packages already present are skipped; apt-get update runs only when something is missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also wrk, nginx and the FastAPI reference peer's packages
#   scripts/install-deps.sh --services also Slurm (munge, slurmctld, slurmd)
#   scripts/install-deps.sh --browser  also Debian's chromium, for the operator console's browser
#                                      tests (scripts/test-console.sh; puppeteer-core drives it)
# PostgreSQL (server + psql) is a test dependency: the black-box suite and the PostgreSQL store's
# unit tests run against a real one that scripts/test.sh starts (scripts/services/postgres-up.sh).
#   scripts/install-deps.sh --slurm    only Slurm (munge, slurmctld, slurmd; scripts/services/slurm-up.sh)
#   scripts/install-deps.sh --package  also lintian and man-db (tests/package: the .deb's checks)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs=(
  cmake ninja-build g++ pkg-config git curl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libssl-dev libpq-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libgoogle-perftools-dev
  libtomlplusplus-dev   # rtgw gate: TOML gate specs (toml++ 3.3, src/gates only)
  python3-pytest python3-httpx python3-jwt python3-cryptography
  python3-jsonschema   # black-box: every response checked against docs/openapi.json
  clang clang-tidy libclang-rt-14-dev   # fuzz preset (libFuzzer) and scripts/lint.sh (clang-tidy)
  postgresql postgresql-client
  dpkg-dev file   # --target package (CPack DEB): dpkg-shlibdeps for Depends, file for ELF detection
  prometheus python3-prometheus-client python3-yaml   # promtool (rules, metrics lint), test_dashboards.py
)
for arg in "$@"; do
  case "$arg" in
    --bench) pkgs+=(wrk nginx-light python3-fastapi python3-uvicorn python3-uvloop python3-httptools) ;;
    --services) pkgs+=(slurm-wlm slurm-client munge) ;;
    --slurm) pkgs+=(slurm-wlm slurm-client munge) ;;
    --package) pkgs+=(lintian man-db) ;;
    --browser) pkgs+=(chromium fonts-dejavu-core) ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
