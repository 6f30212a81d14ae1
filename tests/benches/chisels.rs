//! Chisel and export benchmark (issue 6).
//!
//! 1. `saker read -r F -c CHISEL` against `sysdig -r F -c CHISEL` on the
//!    SAME `.scap` file (saker imports it directly), interleaved rounds,
//!    median ratio, for topprocs_cpu, topfiles_bytes and topscalls (target
//!    ≥ 10×). The external captures are small (sysdig's startup would
//!    dominate), so F is sf_mpm-event_full_capture.scap with its event
//!    blocks repeated K times (~1M raw events at K=28).
//!    Then the same chisels on a saker capture of the same events (made
//!    with `saker convert`) against sysdig on the `.scap`, with the peak
//!    memory (VmHWM, RssAnon) of one run of each.
//! 2. `saker export --format parquet` throughput (rows/s) and peak memory
//!    (VmHWM, RssAnon) of the child at two capture sizes, N and 10N, from
//!    saker captures made with `saker convert`, and the peak memory of
//!    `-c topfiles_bytes` on the same captures: memory must stay flat.
//!
//! `cargo build --release && cargo bench --bench chisels`
//! (env: BENCH_ROUNDS=rounds, CHISEL_K=copies for part 1, EXPORT_K=copies
//! for size N of part 2, default 3; 10N uses 10×EXPORT_K).

#[path = "common/run.rs"]
mod run;
#[path = "common/scap_big.rs"]
mod scap_big;

use std::path::{Path, PathBuf};

use run::{have_sysdig, saker_bin, side_by_side, time_cmd};

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
        .max(1)
}

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/captures/external/sf_mpm-event_full_capture.scap")
}

fn main() {
    let bin = saker_bin();
    assert!(bin.exists(), "build first: cargo build --release");
    let tmp = tempfile::tempdir().expect("tempdir");
    let k = env_usize("CHISEL_K", 28);
    let big = tmp.path().join("big.scap");
    let events = scap_big::enlarge(&source(), &big, k).expect("enlarge");
    let p = big.to_str().expect("utf-8 path");
    println!(
        "capture: {} event blocks repeated {k}x = {events} raw events, {} bytes; {} rounds, medians",
        source().display(),
        std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0),
        run::rounds()
    );
    let sysdig = have_sysdig();
    println!(
        "{:<16} {:>9} {:>9} {:>14} {:>14} {:>7} {:>9}",
        "chisel", "saker s", "sysdig s", "saker ev/s", "sysdig ev/s", "ratio", "cpu ratio"
    );
    for name in ["topprocs_cpu", "topfiles_bytes", "topscalls"] {
        let ours = ["read", "-r", p, "-c", name];
        if let Some(why) = fails(&bin, &ours) {
            println!("{name:<16} skipped: saker fails on this capture: {why}");
            continue;
        }
        if sysdig {
            let v = side_by_side(&ours, &["-r", p, "-c", name]);
            println!(
                "{name:<16} {:>9.3} {:>9.3} {:>14.0} {:>14.0} {:>6.1}x {:>8.1}x",
                v.saker,
                v.sysdig,
                events as f64 / v.saker,
                events as f64 / v.sysdig,
                v.ratio,
                v.cpu_ratio
            );
        } else {
            let mut v: Vec<f64> = (0..run::rounds())
                .map(|_| time_cmd(&bin, &ours).secs)
                .collect();
            let s = run::median(&mut v);
            println!("{name:<16} {s:>9.3} {:>9} {:>14.0}", "-", events as f64 / s);
        }
    }
    if sysdig {
        saker_format(&bin, &big, tmp.path(), events);
    }
    println!();
    let ek = env_usize("EXPORT_K", 3);
    println!(
        "{:<10} {:>10} {:>12} {:>9} {:>12} {:>11} {:>11}",
        "export", "raw ev", "capture B", "s", "rows/s", "VmHWM kB", "RssAnon kB"
    );
    for (label, kk) in [("N", ek), ("10N", ek * 10)] {
        let scap = tmp.path().join(format!("exp-{kk}.scap"));
        let ev = scap_big::enlarge(&source(), &scap, kk).expect("enlarge");
        let cap = tmp.path().join(format!("exp-{kk}.sakr"));
        convert(&bin, &scap, &cap);
        std::fs::remove_file(&scap).ok();
        let out = tmp.path().join("ev.parquet");
        let c = cap.to_str().expect("utf-8 path");
        let o = out.to_str().expect("utf-8 path");
        let r = time_cmd(&bin, &["export", "-r", c, "--format", "parquet", "-o", o]);
        let rows = parquet_rows(&out);
        println!(
            "{label:<10} {ev:>10} {:>12} {:>9.3} {:>12.0} {:>11} {:>11}",
            std::fs::metadata(&cap).map(|m| m.len()).unwrap_or(0),
            r.secs,
            rows as f64 / r.secs,
            r.hwm_kb,
            r.anon_kb
        );
        let ch = time_cmd(&bin, &["read", "-r", c, "-c", "topfiles_bytes"]);
        println!(
            "{:<10} {:>10} {:>12} {:>9.3} {:>12.0} {:>11} {:>11}",
            "  chisel",
            ev,
            "",
            ch.secs,
            ev as f64 / ch.secs,
            ch.hwm_kb,
            ch.anon_kb
        );
    }
}

/// Why `saker args` fails (its stderr), or `None` when it succeeds.
fn fails(bin: &Path, args: &[&str]) -> Option<String> {
    let o = std::process::Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("running saker");
    (!o.status.success()).then(|| String::from_utf8_lossy(&o.stderr).trim().to_string())
}

/// `saker convert SCAP -w CAP`.
fn convert(bin: &Path, scap: &Path, cap: &Path) {
    let o = std::process::Command::new(bin)
        .arg("convert")
        .arg(scap)
        .arg("-w")
        .arg(cap)
        .arg("-q")
        .output()
        .expect("convert");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Part 1b: chisels on a saker capture of `big`'s events vs sysdig on
/// `big`, wall-time medians and the peak memory of one run of each.
fn saker_format(bin: &Path, big: &Path, tmp: &Path, events: u64) {
    let cap = tmp.join("big.sakr");
    convert(bin, big, &cap);
    let (c, p) = (
        cap.to_str().expect("utf-8 path"),
        big.to_str().expect("utf-8 path"),
    );
    println!(
        "\nsame events as a saker capture ({} bytes) vs sysdig on the .scap",
        std::fs::metadata(&cap).map(|m| m.len()).unwrap_or(0)
    );
    println!(
        "{:<16} {:>9} {:>9} {:>7} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "chisel",
        "saker s",
        "sysdig s",
        "ratio",
        "cpu ratio",
        "saker HWM",
        "saker anon",
        "sysdig HWM",
        "sysdig anon"
    );
    for name in ["topprocs_cpu", "topfiles_bytes", "topscalls", "topconns"] {
        let ours = ["read", "-r", c, "-c", name];
        if let Some(why) = fails(bin, &ours) {
            println!("{name:<16} skipped: saker fails on this capture: {why}");
            continue;
        }
        let v = side_by_side(&ours, &["-r", p, "-c", name]);
        let m = time_cmd(bin, &ours);
        let d = time_cmd(Path::new("sysdig"), &["-r", p, "-c", name]);
        println!(
            "{name:<16} {:>9.3} {:>9.3} {:>6.1}x {:>8.1}x {:>7} kB {:>7} kB {:>7} kB {:>8} kB",
            v.saker, v.sysdig, v.ratio, v.cpu_ratio, m.hwm_kb, m.anon_kb, d.hwm_kb, d.anon_kb
        );
    }
    println!("({events} events; saker's VmHWM includes the mapped capture's pages)");
    std::fs::remove_file(&cap).ok();
}

/// Rows of the exported Parquet file (read back, so a broken export fails).
fn parquet_rows(p: &Path) -> u64 {
    use polars_io::prelude::*;
    let f = std::fs::File::open(p).expect("open parquet");
    ParquetReader::new(f)
        .finish()
        .expect("read parquet")
        .height() as u64
}
