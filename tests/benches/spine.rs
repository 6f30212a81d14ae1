//! The spine benchmark (needs root): a getppid/openat/read/write/close loop
//! untraced vs under `saker record` system-wide, interleaved, median of the
//! ratios; bytes per event on disk; reader decode speed on one core.
//!
//! `cargo bench --bench spine` (env: SPINE_ROUNDS, SPINE_ITERS).

#[path = "common/run.rs"]
mod run;

use run::{build_loop, env_or, median};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use saker::capture;
use saker::event::table::Syscalls;

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

/// One target: prints `PASS`/`FAIL` with the figure and the bound.
fn target(name: &str, ok: bool, figure: String, bound: &str) -> bool {
    println!(
        "  [{}] {name}: {figure} (target {bound})",
        if ok { "PASS" } else { "FAIL" }
    );
    ok
}

/// Decodes every record of `cap` on one core, all args and params
/// included; returns the best rate over 5 passes (events/s) and the count.
fn decode_rate(cap: &Path) -> (f64, u64) {
    let r = capture::open(cap).unwrap();
    let mut best = 0f64;
    let mut count = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u64;
        let mut sum = 0u64;
        r.for_each_event(|_, rec| {
            n += 1;
            sum = sum.wrapping_add(rec.ts() ^ u64::from(rec.tid()) ^ rec.ret() as u64);
            for i in 0..rec.nargs() {
                sum = sum.wrapping_add(rec.arg(i).unwrap_or(0));
            }
            for p in rec.params() {
                sum = sum.wrapping_add(p.data.len() as u64 + u64::from(p.idx));
                sum ^= u64::from(p.data.first().copied().unwrap_or(0));
            }
        })
        .unwrap();
        std::hint::black_box(sum);
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
        count = n;
    }
    (best, count)
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
    let lp = build_loop(dir.path()).expect("cc builds tests/workload/loop.c");
    let saker = saker_bin();
    let cap = dir.path().join("bench.scap");
    let cap_lat = dir.path().join("bench-latency.scap");
    let base = |lp: &Path| {
        loop_ns(
            &Command::new(lp)
                .arg(iters.to_string())
                .output()
                .unwrap()
                .stdout,
        )
    };
    let (mut ratios, mut lat_ratios) = (Vec::new(), Vec::new());
    let (mut drops, mut lat_drops, mut all_ok) = (0u64, 0u64, true);
    let mut last = None;
    for round in 0..rounds {
        let base_ns = base(&lp);
        let t = traced(&saker, &lp, iters, &cap, &[], base_ns);
        let l = traced(&saker, &lp, iters, &cap_lat, &["--latency"], base(&lp));
        println!(
            "round {round}: untraced {:.0} ns/iter, traced x{:.2} (drops {}, args ok {}), with --latency x{:.2} (drops {})",
            base_ns / iters as f64,
            t.ratio,
            t.drops,
            t.captured_ok,
            l.ratio,
            l.drops
        );
        ratios.push(t.ratio);
        lat_ratios.push(l.ratio);
        drops += t.drops;
        lat_drops += l.drops;
        all_ok &= t.captured_ok;
        last = Some(t);
    }
    // Compression must never cost events: the same loop at zstd level 19.
    let z = traced(
        &saker,
        &lp,
        iters,
        &dir.path().join("bench-z19.scap"),
        &["-z", "19"],
        base(&lp),
    );
    let t = last.unwrap();
    let slowdown = median(&mut ratios);
    let lat = median(&mut lat_ratios);
    let per_event = t.bytes as f64 / t.events as f64;
    // Decode speed on the default capture (no --latency), of the last round.
    let (rate, decoded) = decode_rate(&cap);

    println!("\nspine targets ({rounds} interleaved rounds of {iters} iterations):");
    let mut pass = true;
    pass &= target(
        "slowdown, system-wide, all arguments (median of ratios)",
        slowdown <= 2.0,
        format!("x{slowdown:.2}"),
        "<= x2.00",
    );
    pass &= target(
        "drops over all default rounds",
        drops == 0,
        drops.to_string(),
        "0",
    );
    pass &= target(
        "every syscall's arguments captured in every round",
        all_ok,
        all_ok.to_string(),
        "true",
    );
    pass &= target(
        "bytes per event on disk (whole file, snapshot included)",
        per_event <= 12.0,
        format!(
            "{per_event:.2} ({} events, {} bytes; {:.2} for event blocks only)",
            t.events,
            t.bytes,
            t.block_bytes as f64 / t.events as f64
        ),
        "<= 12",
    );
    pass &= target(
        "reader decode, every record's args and params, one core",
        rate >= 5e6,
        format!("{:.2}M events/s over {decoded} events", rate / 1e6),
        ">= 5M/s",
    );
    pass &= target(
        "-z 19 costs no events (drops, all arguments captured)",
        z.drops == 0 && z.captured_ok,
        format!(
            "{} drops, args ok {}, {:.2} B/event, x{:.2}",
            z.drops,
            z.captured_ok,
            z.bytes as f64 / z.events as f64,
            z.ratio
        ),
        "0 drops",
    );
    println!(
        "  [info] with --latency: x{lat:.2}, {lat_drops} drops over all rounds (an option, not a target)"
    );
    println!(
        "spine: {}",
        if pass {
            "all targets met"
        } else {
            "some targets missed"
        }
    );
}
