//! Chisel and export benchmark: topprocs_cpu-style / topfiles_bytes /
//! topscalls over a large capture (events/s), side by side with
//! `sysdig -r F -c CHISEL` when a sysdig .scap is given, and export
//! throughput with peak RSS (VmHWM).
//!
//! `cargo bench --bench chisels` (env: CHISEL_CAPTURE=a saker capture to use
//! instead of recording one; CHISEL_SCAP=a .scap for the sysdig column;
//! CHISEL_ITERS=loop iterations of the recorded workload).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use saker::capture;
use saker::chisel::{self, Init, Out, RunOpts};

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn saker_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/saker");
    let alt = std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("release/saker"));
    alt.filter(|p| p.exists()).unwrap_or(p)
}

/// Records the loop workload (root only) into `dir`.
fn record(dir: &Path) -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !saker_bin().exists() {
        return None;
    }
    let lp = dir.join("saker-loop");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workload/loop.c");
    let st = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&lp)
        .arg(&src)
        .status()
        .ok()?;
    if !st.success() {
        return None;
    }
    let cap = dir.join("big.scap");
    let iters = std::env::var("CHISEL_ITERS").unwrap_or_else(|_| "200000".into());
    let o = Command::new(saker_bin())
        .args(["record", "-q", "--only-cmd", "-w"])
        .arg(&cap)
        .arg("--")
        .arg(&lp)
        .arg(&iters)
        .output()
        .ok()?;
    o.status.success().then_some(cap)
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cap = std::env::var_os("CHISEL_CAPTURE")
        .map(PathBuf::from)
        .or_else(|| record(tmp.path()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/system-1s.scap"));
    let r = capture::open(&cap).expect("open capture");
    let events = r.totals().events;
    println!(
        "capture {} ({} events, {} blocks)",
        cap.display(),
        events,
        r.blocks().len()
    );
    let (_, env) = chisel::env_of(&r).expect("env");
    for name in [
        "topscalls",
        "topfiles_bytes",
        "topprocs_file",
        "topprocs_cpu",
    ] {
        let def = chisel::find(name).unwrap();
        let init = Init {
            args: &[],
            has_latency: env.has_latency,
        };
        let Ok(mut c) = def.create(&init) else {
            println!("{name:<16} skipped (needs latency)");
            continue;
        };
        let mut sink = std::io::sink();
        let mut out = Out {
            w: &mut sink,
            json: false,
        };
        let t = Instant::now();
        chisel::run(
            &r,
            &env,
            c.as_mut(),
            RunOpts::default(),
            &mut |_| true,
            &mut out,
            &mut |_| {},
        )
        .unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name:<16} {:>8.3} s  {:>12.0} events/s",
            s,
            events as f64 / s
        );
        if let Some(scap) = std::env::var_os("CHISEL_SCAP") {
            let t = Instant::now();
            let o = Command::new("sysdig")
                .arg("-r")
                .arg(&scap)
                .args(["-c", name])
                .output();
            if o.is_ok_and(|o| o.status.success()) {
                println!(
                    "{:<16} {:>8.3} s  (sysdig -r {} -c {name})",
                    "",
                    t.elapsed().as_secs_f64(),
                    Path::new(&scap).display()
                );
            }
        }
    }
    let out = tmp.path().join("ev.parquet");
    let fields: Vec<String> = chisel::frame::DEFAULT_FIELDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let before = vm_hwm_kb();
    let t = Instant::now();
    let w = chisel::export::export(
        &r,
        Default::default(),
        &fields,
        chisel::export::Format::Parquet,
        &out,
        false,
        &mut |_| {},
    )
    .expect("export");
    let s = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "export parquet   {:>8.3} s  {:>12.0} rows/s  {} bytes  VmHWM {} kB (before {} kB)",
        s,
        w.rows as f64 / s,
        size,
        vm_hwm_kb(),
        before
    );
}
