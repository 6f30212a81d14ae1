//! Bench helpers shared by the benches: the saker binary, the spine loop
//! program, env settings, timing a command with its output discarded, peak
//! memory of a child, medians.

// Shared by several benches; each uses a subset of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The release saker binary (`cargo build --release` first).
pub fn saker_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/saker");
    let alt = std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("release/saker"));
    alt.filter(|p| p.exists()).unwrap_or(p)
}

/// A number from the environment, else `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The spine loop (`tests/workload/loop.c`) built with `cc -O2` into `dir`;
/// `None` if it does not compile.
pub fn build_loop(dir: &Path) -> Option<PathBuf> {
    let out = dir.join("saker-loop");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workload/loop.c");
    let st = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .ok()?;
    st.success().then_some(out)
}

/// Whether `sysdig` can run here.
pub fn have_sysdig() -> bool {
    Command::new("sysdig")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What one run of a command cost.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall time, seconds.
    pub secs: f64,
    /// CPU time (user + system) of the child, seconds: steadier than wall
    /// time when other work shares the machine.
    pub cpu: f64,
    /// Peak resident set of the child (VmHWM), kB.
    pub hwm_kb: u64,
    /// Peak anonymous memory of the child (RssAnon, sampled), kB.
    pub anon_kb: u64,
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) of all waited-for children so far.
fn children_cpu() -> f64 {
    // SAFETY: getrusage writes one rusage into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN is valid and `ru` is a valid out-pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Runs `prog args`, stdout to /dev/null, and times it; panics if it fails
/// (a bench must not report a failed run as fast). Memory is sampled from
/// /proc every 2 ms while the child runs.
pub fn time_cmd(prog: &Path, args: &[&str]) -> Run {
    timed(prog, args, true)
}

/// [`time_cmd`] with a blocking wait: no memory sampling, whose 2 ms
/// polling adds up to 2 ms to a run (much of a 5 ms one).
pub fn time_exact(prog: &Path, args: &[&str]) -> Run {
    timed(prog, args, false)
}

fn timed(prog: &Path, args: &[&str], sample_memory: bool) -> Run {
    let cpu0 = children_cpu();
    let t = Instant::now();
    let mut child = Command::new(prog)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", prog.display()));
    let pid = child.id();
    let (mut hwm, mut anon) = (0, 0);
    while sample_memory && child.try_wait().expect("wait").is_none() {
        hwm = hwm.max(status_kb(pid, "VmHWM:").unwrap_or(0));
        anon = anon.max(status_kb(pid, "RssAnon:").unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // Waits (a sampled child is already reaped) and takes the stderr.
    let out = child.wait_with_output().expect("wait");
    let secs = t.elapsed().as_secs_f64();
    let cpu = children_cpu() - cpu0;
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        prog.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        secs,
        cpu,
        hwm_kb: hwm,
        anon_kb: anon,
    }
}

/// The median of `v` (not empty).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Rounds per comparison (`BENCH_ROUNDS`, default 5).
pub fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1)
}

/// Medians of a side-by-side comparison.
#[derive(Debug, Clone, Copy)]
pub struct Versus {
    /// saker wall seconds.
    pub saker: f64,
    /// sysdig wall seconds.
    pub sysdig: f64,
    /// Median of the per-round wall-time ratios sysdig / saker.
    pub ratio: f64,
    /// Median of the per-round CPU-time ratios sysdig / saker.
    pub cpu_ratio: f64,
}

/// Runs saker and sysdig on the same input, interleaved for `rounds()`
/// rounds (saker first in even rounds, sysdig first in odd ones), timed
/// exactly ([`time_exact`]).
pub fn side_by_side(saker: &[&str], sysdig: &[&str]) -> Versus {
    let (mut a, mut b, mut r, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let bin = saker_bin();
    for i in 0..rounds() {
        let (s, d) = if i % 2 == 0 {
            let s = time_exact(&bin, saker);
            (s, time_exact(Path::new("sysdig"), sysdig))
        } else {
            let d = time_exact(Path::new("sysdig"), sysdig);
            (time_exact(&bin, saker), d)
        };
        a.push(s.secs);
        b.push(d.secs);
        r.push(d.secs / s.secs);
        c.push(d.cpu / s.cpu.max(1e-6));
    }
    Versus {
        saker: median(&mut a),
        sysdig: median(&mut b),
        ratio: median(&mut r),
        cpu_ratio: median(&mut c),
    }
}
