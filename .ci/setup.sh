#!/usr/bin/env bash
# Installs what a fresh machine of this kind lacks to build and test saker:
# libelf-dev (libbpf links libelf), tmux (drives the TUI end-to-end test),
# and pyarrow + duckdb (the Parquet export test reads our files with them).
# clang is NOT needed: the compiled BPF object is committed
# (bpf/saker.bpf.o) and checked against its sources by the build.
# Idempotent; runs apt-get only when something is missing.
set -euo pipefail
need=()
pkg-config --exists libelf 2>/dev/null || need+=(libelf-dev)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c "import pyarrow, duckdb" >/dev/null 2>&1; then
  echo "setup: installing pyarrow duckdb (pip)" >&2
  python3 -m pip install -q pyarrow duckdb >&2
fi
