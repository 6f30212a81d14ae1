//! The spine benchmark (needs root): a getppid/openat/read/write/close loop
//! untraced vs under `saker record` system-wide, interleaved, median of the
//! ratios; bytes per event on disk; reader decode speed on one core.
//!
//! `cargo bench --bench spine` (env: SPINE_ROUNDS, SPINE_ITERS).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use saker::capture;
use saker::event::table::Syscalls;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn build_loop(dir: &Path) -> PathBuf {
    let out = dir.join("saker-loop");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workload/loop.c");
    let st = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc");
    assert!(st.success());
    out
}

fn saker_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/saker");
    assert!(p.exists(), "build it first: cargo build --release");
    p
}

fn loop_ns(out: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(out);
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("loop prints its time")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Traced {
    ratio: f64,
    events: u64,
    bytes: u64,
    block_bytes: u64,
    captured_ok: bool,
    drops: u64,
}

fn traced(saker: &Path, lp: &Path, iters: u64, cap: &Path, extra: &[&str], base_ns: f64) -> Traced {
    let out = Command::new(saker)
        .args(["record", "-q", "--json", "-w"])
        .arg(cap)
        .args(extra)
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
    let ns = loop_ns(&out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let r = capture::open(cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    // The loop's own syscalls: every read/write must carry its buffer and
    // every openat its path.
    let mut loop_pid = 0;
    let mut ok = true;
    let mut seen = 0u64;
    r.for_each_event(|_, rec| {
        let name = table.name(rec.code());
        if loop_pid == 0 && name == "openat" && rec.param(1).is_some_and(|p| p.data == b"/dev/zero")
        {
            loop_pid = rec.pid();
        }
        if rec.pid() != loop_pid || loop_pid == 0 {
            return;
        }
        match &*name {
            "openat" => ok &= rec.param(1).is_some_and(|p| p.data == b"/dev/zero"),
            // The loop's own I/O is 64 bytes; its final printf is not.
            "read" | "write" if rec.arg(2) == Some(64) => {
                ok &= rec.param(1).is_some_and(|p| p.data.len() == 64)
            }
            _ => {}
        }
        seen += 1;
    })
    .unwrap();
    ok &= seen >= 5 * iters - 1;
    let block_bytes = r
        .blocks()
        .iter()
        .map(|b| b.compressed_len as u64 + b.header_len as u64)
        .sum();
    Traced {
        ratio: ns / base_ns,
        events: json["events"].as_u64().unwrap(),
        bytes: std::fs::metadata(cap).unwrap().len(),
        block_bytes,
        captured_ok: ok,
        drops: json["drops"].as_u64().unwrap(),
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("spine bench: needs root (BPF); skipped");
        return;
    }
    let rounds = env_or("SPINE_ROUNDS", 7);
    let iters = env_or("SPINE_ITERS", 200_000);
    let dir = tempfile::tempdir().unwrap();
    let lp = build_loop(dir.path());
    let saker = saker_bin();
    let cap = dir.path().join("bench.scap");
    let mut ratios = Vec::new();
    let mut lat_ratios = Vec::new();
    let mut last = None;
    for round in 0..rounds {
        let base = Command::new(&lp).arg(iters.to_string()).output().unwrap();
        let base_ns = loop_ns(&base.stdout);
        let t = traced(&saker, &lp, iters, &cap, &[], base_ns);
        let base2 = loop_ns(
            &Command::new(&lp)
                .arg(iters.to_string())
                .output()
                .unwrap()
                .stdout,
        );
        let l = traced(&saker, &lp, iters, &cap, &["--latency"], base2);
        println!(
            "round {round}: untraced {:.0} ns/iter, traced x{:.2} (drops {}, args ok {}), with --latency x{:.2}",
            base_ns / iters as f64,
            t.ratio,
            t.drops,
            t.captured_ok,
            l.ratio
        );
        ratios.push(t.ratio);
        lat_ratios.push(l.ratio);
        last = Some(t);
    }
    let t = last.unwrap();
    println!(
        "slowdown (median of {rounds} interleaved rounds): x{:.2}",
        median(&mut ratios)
    );
    println!("slowdown with --latency: x{:.2}", median(&mut lat_ratios));
    println!(
        "bytes/event: {:.2} for the whole file ({} events, {} bytes incl. snapshot), {:.2} for event blocks only",
        t.bytes as f64 / t.events as f64,
        t.events,
        t.bytes,
        t.block_bytes as f64 / t.events as f64
    );
    println!(
        "drops in the last round: {}, every syscall's arguments captured: {}",
        t.drops, t.captured_ok
    );

    // Decode speed: one core, all events, zero-copy records.
    let r = capture::open(&cap).unwrap();
    let mut best = 0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u64;
        let mut sum = 0u64;
        r.for_each_event(|_, rec| {
            n += 1;
            sum = sum.wrapping_add(rec.ts() ^ rec.tid() as u64);
        })
        .unwrap();
        std::hint::black_box(sum);
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    println!("reader decode: {:.2}M events/s on one core", best / 1e6);
}
