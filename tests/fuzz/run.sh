#!/usr/bin/env bash
# Runs one fuzz target with the stable toolchain (no cargo-fuzz, no nightly):
# libfuzzer-sys with SanitizerCoverage, debug assertions and overflow checks,
# seeded from real data (external scap files, our captures, Falco's rules).
#
#   tests/fuzz/run.sh TARGET [SECONDS]
#   TARGET: scap_import | capture_reader | filter_parser | rules_loader
#
# Work files (build, corpus, crash inputs) go to $FUZZ_DIR (default
# /tmp/saker-fuzz); a crash input is written there as <target>-crash-*.
# Exit status: 0 when the time ran out with no crash, non-zero otherwise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="$root/../shared"
target="${1:?usage: run.sh TARGET [SECONDS]}"
secs="${2:-120}"
work="${FUZZ_DIR:-/tmp/saker-fuzz}"
corpus="$work/corpus/$target"
seeds="$work/seeds/$target"
mkdir -p "$corpus" "$seeds"

# Seeds: small real inputs of the target's format.
case "$target" in
  scap_import)
    max_len=70000
    for f in "$shared"/captures/external/*.scap; do
      # Gzip files whole when small; plain ones cut (the cut end is a case too).
      if [ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' ')" = "1f8b" ]; then
        [ "$(stat -c %s "$f")" -lt 200000 ] && cp "$f" "$seeds/"
      else
        head -c 65536 "$f" > "$seeds/$(basename "$f").64k"
      fi
    done ;;
  capture_reader)
    max_len=50000
    cp "$root"/captures/*.scap "$seeds/" ;;
  filter_parser)
    max_len=4096
    i=0
    for f in 'evt.type=openat and fd.name startswith /etc' \
             'proc.name in (bash, sh) or not evt.dir=<' \
             '(fd.typechar=4 and fd.sip!=127.0.0.1) and evt.rawres>=0' \
             'evt.arg.flags contains O_CREAT and not (proc.aname[2]=sshd)' \
             'fd.name pmatch (/etc, /usr/lib) and user.name glob "ro*"'; do
      printf '%s' "$f" > "$seeds/f$i"; i=$((i + 1))
    done ;;
  rules_loader)
    max_len=20000
    # A few rules per seed, cut from each ruleset at its list items.
    for f in "$shared"/falco/*.yaml; do
      awk -v out="$seeds/$(basename "$f")" \
        '/^- / { n++ } { print > (out "." int(n / 3)) }' "$f"
    done ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac

flags="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags+=" -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
flags+=" -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps the flags off build scripts and proc macros.
triple="$(rustc -vV | sed -n 's/^host: //p')"
(cd "$here" && RUSTFLAGS="$flags" cargo build --release --target "$triple" \
  --target-dir "$work/target" --bin "$target")
exec "$work/target/$triple/release/$target" "$corpus" "$seeds" \
  -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=4096 \
  -artifact_prefix="$work/$target-" -print_final_stats=1
