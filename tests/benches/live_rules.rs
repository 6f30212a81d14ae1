//! Live rules cost (needs root): the spine's getppid/openat/read/write/close loop
//! (tests/workload/loop.c) untraced, under `saker record -w` system-wide, and under
//! `saker record --rules falco_rules.yaml -w` (Falco's stable ruleset), interleaved; the
//! median slowdown of each, ring drops of each, and batches the rules thread skipped.
//!
//! `cargo build --release && cargo bench --bench live_rules`
//! (env: LIVE_ROUNDS, default 5; LIVE_ITERS, default 200000).

#[path = "common/run.rs"]
mod run;

use run::{build_loop, env_or, median};
use std::path::Path;
use std::process::Command;

const STABLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/falco/falco_rules.yaml"
);

/// The loop's own time: the first stdout line that is a plain number (alerts are JSON).
fn loop_ns(stdout: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .expect("loop prints its time")
}

struct Run {
    ratio: f64,
    events: u64,
    drops: u64,
    alerts: u64,
    skipped_batches: u64,
    skipped_events: u64,
}

fn traced(saker: &Path, lp: &Path, iters: u64, cap: &Path, rules: bool, base_ns: f64) -> Run {
    let mut cmd = Command::new(saker);
    cmd.args(["record", "-q", "--json", "-w"]).arg(cap);
    if rules {
        cmd.args(["--rules", STABLE]);
    }
    let out = cmd
        .arg("--")
        .arg(lp)
        .arg(iters.to_string())
        .output()
        .expect("saker record");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("summary")).expect("summary JSON");
    let r = &summary["rules"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    Run {
        ratio: loop_ns(&text) / base_ns,
        events: n(&summary["events"]),
        drops: n(&summary["drops"]),
        alerts: n(&r["alerts"]),
        skipped_batches: n(&r["skipped_batches"]),
        skipped_events: n(&r["skipped_events"]),
    }
}

fn untraced(lp: &Path, iters: u64) -> f64 {
    let o = Command::new(lp)
        .arg(iters.to_string())
        .output()
        .expect("loop");
    loop_ns(&String::from_utf8_lossy(&o.stdout))
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("live_rules bench: needs root (BPF); skipped");
        return;
    }
    let saker = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/saker");
    assert!(saker.exists(), "build it first: cargo build --release");
    let rounds = env_or("LIVE_ROUNDS", 5);
    let iters = env_or("LIVE_ITERS", 200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let lp = build_loop(dir.path()).expect("cc builds tests/workload/loop.c");
    let cap = dir.path().join("bench.cap");
    let (mut plain, mut ruled) = (Vec::new(), Vec::new());
    let (mut drops_plain, mut drops_rules, mut skipped, mut skipped_ev) = (0, 0, 0, 0);
    for round in 0..rounds {
        let p = traced(&saker, &lp, iters, &cap, false, untraced(&lp, iters));
        let r = traced(&saker, &lp, iters, &cap, true, untraced(&lp, iters));
        println!(
            "round {round}: record x{:.2} ({} events, {} drops); record --rules x{:.2} ({} events, {} drops, {} alerts, {} batches / {} events not evaluated)",
            p.ratio, p.events, p.drops, r.ratio, r.events, r.drops, r.alerts, r.skipped_batches, r.skipped_events
        );
        drops_plain += p.drops;
        drops_rules += r.drops;
        skipped += r.skipped_batches;
        skipped_ev += r.skipped_events;
        plain.push(p.ratio);
        ruled.push(r.ratio);
    }
    let (mp, mr) = (median(&mut plain), median(&mut ruled));
    println!("slowdown (median of {rounds} interleaved rounds, {iters} iterations): record x{mp:.2}, record --rules (Falco stable) x{mr:.2}");
    println!(
        "ring drops over all rounds: record {drops_plain}, record --rules {drops_rules} ({})",
        if drops_rules <= drops_plain {
            "no drops added by live rules"
        } else {
            "live rules added drops"
        }
    );
    println!("batches the rules thread could not take: {skipped} ({skipped_ev} events)");
}
