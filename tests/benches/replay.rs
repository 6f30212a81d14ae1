//! Replay throughput with Falco's stable ruleset on one core: events/s through state,
//! the event-type index and the candidate rules, against the ≥ 1M events/s target.
//!
//! Captures of millions of events: always a generated one (`capture::synth`, 2M events
//! of openat/read/getppid with forks, execs and exits); with root, BTF and a release
//! binary also real recordings of the spine loop (tests/workload/loop.c, 1M iterations =
//! 5M syscalls) and of a find + tar + shell workload.
//! `cargo build --release && cargo bench --bench replay`
//! (env: REPLAY_ROUNDS, default 3; REPLAY_EVENTS, default 2000000).

#[path = "common/run.rs"]
mod run;

use run::{build_loop, env_or};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use saker::capture::{synth, CaptureMeta, CaptureWriter, WriterOptions};
use saker::event::meta::Summary;
use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::replay::replay;
use saker::rules::{self, CompileOptions, EngineOptions};

const TARGET: f64 = 1e6;
const WORKLOAD: &str = "find /usr -xdev >/dev/null 2>&1; tar cf - /usr/include 2>/dev/null | cat >/dev/null; \
                        for i in $(seq 1 300); do cat /etc/hostname >/dev/null; ls /tmp >/dev/null; done";

/// CPU time of this thread, in seconds: the time on one core, whatever else the machine runs.
fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn can_record() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/saker");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !bin.exists() || !Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!(
            "not recording (needs root, BTF and target/release/saker): generated capture only"
        );
        return None;
    }
    Some(bin)
}

fn record(bin: &Path, cap: &Path, cmd: &[&str]) -> Option<PathBuf> {
    let st = Command::new(bin)
        .args(["record", "-q", "--only-cmd", "-w"])
        .arg(cap)
        .arg("--")
        .args(cmd)
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    st.success().then(|| cap.to_path_buf())
}

/// A saker capture of `n` synthetic records, in memory.
fn generated(n: u64) -> Vec<u8> {
    let mut w = CaptureWriter::new(
        Vec::new(),
        &CaptureMeta::default(),
        WriterOptions::default(),
    )
    .expect("writer");
    let mut batch = Vec::new();
    let chunk = 100_000;
    let mut i = 0;
    while i < n {
        batch.clear();
        let k = chunk.min(n - i);
        synth::records(i, k, 1_000_000, &mut batch);
        w.push_batch(&batch).expect("push");
        i += k;
    }
    w.finish_into(&Summary::default()).expect("finish").1
}

fn main() {
    let rounds = env_or("REPLAY_ROUNDS", 3) as usize;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/falco/falco_rules.yaml"
    ))
    .expect("stable ruleset");
    let load = || {
        rules::load(
            &[("falco_rules.yaml", &text)],
            &Fields,
            Syscalls::default_x86_64(),
            &CompileOptions::default(),
        )
        .expect("stable ruleset loads")
        .ruleset
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut captures: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(bin) = can_record() {
        if let Some(lp) = build_loop(dir.path()) {
            let lps = lp.display().to_string();
            if let Some(p) = record(&bin, &dir.path().join("loop.cap"), &[&lps, "1000000"]) {
                captures.push((
                    "recorded spine loop".into(),
                    std::fs::read(p).expect("read"),
                ));
            }
        }
        if let Some(p) = record(&bin, &dir.path().join("work.cap"), &["sh", "-c", WORKLOAD]) {
            captures.push((
                "recorded find+tar workload".into(),
                std::fs::read(p).expect("read"),
            ));
        }
    }
    captures.push((
        "generated (capture::synth)".into(),
        generated(env_or("REPLAY_EVENTS", 2_000_000)),
    ));
    let mut all_met = true;
    for (name, bytes) in captures {
        let cap = saker::capture::CaptureReader::new(bytes).expect("opens");
        let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
        let mut last = None;
        for _ in 0..rounds {
            let set = load();
            let (t, c) = (Instant::now(), cpu_now());
            let (_, stats) =
                replay(&cap, set, EngineOptions::default(), &mut |_| true).expect("replays");
            best = best.min(t.elapsed().as_secs_f64());
            best_cpu = best_cpu.min(cpu_now() - c);
            last = Some(stats);
        }
        let s = last.expect("at least one round");
        let c = cpu_now();
        let (_, base) = replay(
            &cap,
            rules::Ruleset::default(),
            EngineOptions::default(),
            &mut |_| true,
        )
        .expect("replays");
        let base_s = cpu_now() - c;
        // Replay is single-threaded: its CPU time is its time on one core.
        let rate = s.events as f64 / best_cpu;
        all_met &= rate >= TARGET;
        println!(
            "{name}: {} events, {} evaluated, {} alerts; best of {rounds}: {best_cpu:.3} s CPU = {:.2} M events/s on one core with Falco stable rules (target >= 1M events/s: {}); wall {best:.3} s = {:.2} M events/s",
            s.events,
            s.evaluated,
            s.alerts,
            rate / 1e6,
            if rate >= TARGET { "met" } else { "NOT met" },
            s.events as f64 / best / 1e6
        );
        println!(
            "  baseline without rules (read + decode + state): {base_s:.3} s CPU = {:.2} M events/s",
            base.events as f64 / base_s / 1e6
        );
    }
    println!(
        "target >= 1M events/s on one core: {}",
        if all_met {
            "met on every capture"
        } else {
            "NOT met on every capture"
        }
    );
}
