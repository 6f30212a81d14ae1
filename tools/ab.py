#!/usr/bin/env python3
"""Time two saker binaries side by side on the same arguments.

Usage: tools/ab.py OLD_BIN NEW_BIN ROUNDS -- ARGS...

Runs OLD and NEW alternately ROUNDS times each (output to /dev/null) and
prints the minimum and median wall-clock time and the minimum CPU (user +
system) time of each, so a noisy machine affects both sides alike.
"""
import resource
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 5 or sys.argv[4] != "--":
        sys.exit(__doc__)
    bins = sys.argv[1:3]
    rounds = int(sys.argv[3])
    args = sys.argv[5:]
    best = {b: (float("inf"), float("inf")) for b in bins}
    walls = {b: [] for b in bins}
    for _ in range(rounds):
        for b in bins:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([b] + args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            w, c = best[b]
            best[b] = (min(w, wall), min(c, cpu))
            walls[b].append(wall)
    for b in bins:
        w, c = best[b]
        med = sorted(walls[b])[len(walls[b]) // 2]
        print(f"{b}: wall {w * 1000:.2f} ms (median {med * 1000:.2f}), "
              f"cpu {c * 1000:.1f} ms (min of {rounds})")


if __name__ == "__main__":
    main()
