//! `.scap` import speed (issue 4): `saker read -r F FILTER` against
//! `sysdig -r F FILTER` on the same file with the same filter, output to
//! /dev/null, interleaved rounds, median ratio (target ≥ 10×); on the
//! largest external captures and on one enlarged to ~1M events by
//! repeating its event blocks. Then each tool's fixed cost (both on an
//! 11 KB capture, side by side) and what a 10× ratio leaves saker for each
//! file's own work; where saker's time goes (process start, metadata pass,
//! conversion, printing); and `saker convert` sizes against the original
//! and against gzip -9 of the raw scap.
//!
//! `cargo build --release && cargo bench --bench scap`
//! (env: BENCH_ROUNDS=rounds, SCAP_K=copies of the event blocks).

#[path = "common/read_options.rs"]
mod read_options;
#[path = "common/run.rs"]
mod run;
#[path = "common/scap_big.rs"]
mod scap_big;

use std::io::Write;
use std::path::{Path, PathBuf};

use run::{have_sysdig, saker_bin, side_by_side};

fn external(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/captures/external")
        .join(name)
}

/// Events in `f` as imported (records after enter/exit pairing).
fn raw_events(f: &Path) -> u64 {
    let b = std::fs::read(f).expect("read");
    saker::scap::import(&b)
        .map(|i| i.stats.raw_events)
        .unwrap_or(0)
}

const FILTERS: &[&str] = &[
    "evt.type=open or evt.type=openat",
    "proc.name=httpd and fd.type=file",
];

/// Medians of `f`'s timings over [`run::rounds`] calls.
fn medians<const N: usize>(mut f: impl FnMut() -> [f64; N]) -> [f64; N] {
    let mut v: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
    for _ in 0..run::rounds() {
        for (i, t) in f().into_iter().enumerate() {
            v[i].push(t);
        }
    }
    v.map(|mut x| run::median(&mut x))
}

/// Where `saker read -r F FILTER`'s time goes, per file: the process
/// alone (`saker --version`), then in this process (file already in
/// memory) the import until its metadata is ready (the first pass, or the
/// single pass of a small file) and the whole import with its records
/// drained unread (`stream_records`, with `read`'s bare codes); the rest
/// of the command's time is state, filter and printing, or the wait for
/// the converter when that overlaps (files past `single_pass` convert on
/// a second thread).
fn split(bin: &Path, files: &[PathBuf], filt: &str) {
    let [start] = medians(|| [run::time_exact(bin, &["--version"]).secs]);
    println!();
    println!(
        "where the time goes (`{filt}`; process start {:.4} s)",
        start
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9}",
        "file", "read s", "meta s", "import s", "rest s"
    );
    // The import as `read` runs it: with the codes its filter makes bare.
    let import_opts = saker::scap::ImportOptions {
        bare: saker::output::scap_bare(&read_options::opts(
            Some(filt),
            saker::output::DEFAULT_FORMAT,
            false,
        )),
        ..saker::scap::ImportOptions::default()
    };
    for f in files {
        let b = std::fs::read(f).expect("read");
        let p = f.to_str().expect("utf-8 path");
        let [read, meta, import] = medians(|| {
            let read = run::time_exact(bin, &["read", "-r", p, filt]).secs;
            let t = std::time::Instant::now();
            let mut meta = 0.0;
            let r = saker::scap::stream_records(&b, import_opts, &mut |_| {}, |_, recs| {
                meta = t.elapsed().as_secs_f64();
                while recs.next().is_some() {}
            });
            assert!(r.is_ok(), "import of {p}");
            [read, meta, t.elapsed().as_secs_f64()]
        });
        println!(
            "{:<40} {:>9.4} {:>9.4} {:>9.4} {:>9.4}",
            f.file_name().unwrap_or_default().to_string_lossy(),
            read,
            meta,
            import,
            read - start - import
        );
    }
}

/// Each tool's fixed cost, side by side on an 11 KB gzip capture of 326
/// raw events (process start, set-up, exit: almost no work per event), and
/// for each measured file and filter what a 10× ratio leaves saker beyond
/// that fixed cost (sysdig's time / 10 − saker's fixed cost) against what
/// saker spends there now (its time − its fixed cost).
fn budget(results: &[(String, &str, run::Versus)]) {
    let tiny = external("test_ipv6_client.scap");
    let p = tiny.to_str().expect("utf-8 path");
    let filt = FILTERS[0];
    let fixed = side_by_side(&["read", "-r", p, filt], &["-r", p, filt]);
    println!();
    println!(
        "fixed cost (test_ipv6_client.scap, 11 KB gzip, `{filt}`): saker {:.4} s, sysdig {:.4} s, ratio {:.1}x",
        fixed.saker, fixed.sysdig, fixed.ratio
    );
    println!(
        "{:<40} {:<36} {:>12} {:>12}",
        "file", "filter", "10x leaves s", "saker uses s"
    );
    for (name, filt, v) in results {
        println!(
            "{name:<40} {filt:<36} {:>12.4} {:>12.4}",
            v.sysdig / 10.0 - fixed.saker,
            v.saker - fixed.saker
        );
    }
}

fn main() {
    let bin = saker_bin();
    assert!(bin.exists(), "build first: cargo build --release");
    let tmp = tempfile::tempdir().expect("tempdir");
    let k: usize = std::env::var("SCAP_K")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(28);
    let big = tmp.path().join("big.scap");
    let src = external("sf_mpm-event_full_capture.scap");
    scap_big::enlarge(&src, &big, k).expect("enlarge");
    let mut files = vec![
        external("sf_mpm-event_full_capture.scap"),
        external("sf_nginx_nginx.scap"),
        external("sf_objectstore_download.scap"),
    ];
    files.push(big.clone());
    let sysdig = have_sysdig();
    if !sysdig {
        println!("sysdig not installed: saker column only");
    }
    println!("rounds: {} (median of each)", run::rounds());
    println!(
        "{:<40} {:>9} {:<36} {:>9} {:>9} {:>12} {:>7} {:>9}",
        "file", "raw ev", "filter", "saker s", "sysdig s", "saker ev/s", "ratio", "cpu ratio"
    );
    let mut results = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        let name = if *f == big {
            format!("{name} ({k}x mpm-event)")
        } else {
            name.into_owned()
        };
        let ev = raw_events(f);
        let p = f.to_str().expect("utf-8 path");
        for filt in FILTERS {
            let v = if sysdig {
                side_by_side(&["read", "-r", p, filt], &["-r", p, filt])
            } else {
                let mut v: Vec<f64> = (0..run::rounds())
                    .map(|_| run::time_exact(&bin, &["read", "-r", p, filt]).secs)
                    .collect();
                run::Versus {
                    saker: run::median(&mut v),
                    sysdig: f64::NAN,
                    ratio: f64::NAN,
                    cpu_ratio: f64::NAN,
                }
            };
            println!(
                "{name:<40} {ev:>9} {filt:<36} {:>9.3} {:>9.3} {:>12.0} {:>6.1}x {:>8.1}x",
                v.saker,
                v.sysdig,
                ev as f64 / v.saker,
                v.ratio,
                v.cpu_ratio
            );
            results.push((name.clone(), *filt, v));
        }
    }
    if sysdig {
        budget(&results);
    }
    split(&bin, &files, FILTERS[0]);
    println!();
    println!(
        "{:<40} {:>11} {:>11} {:>11} {:>9} {:>9}",
        "convert", "scap bytes", "gzip -9", "saker", "/scap", "/gzip"
    );
    for f in &files {
        let out = tmp.path().join("conv.sakr");
        let o = std::process::Command::new(&bin)
            .arg("convert")
            .arg(f)
            .arg("-w")
            .arg(&out)
            .output()
            .expect("convert");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let raw = std::fs::read(f).expect("read");
        let raw = match saker::scap::detect(&raw) {
            saker::scap::FileKind::Gzip => {
                let mut v = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(&raw[..]),
                    &mut v,
                )
                .expect("gunzip");
                v
            }
            _ => raw,
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw).expect("gzip");
        let gz = gz.finish().expect("gzip").len() as f64;
        let ours = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64;
        println!(
            "{:<40} {:>11} {:>11} {:>11} {:>8.3}x {:>8.3}x",
            f.file_name().unwrap_or_default().to_string_lossy(),
            raw.len(),
            gz,
            ours,
            ours / raw.len() as f64,
            ours / gz
        );
        let msg = String::from_utf8_lossy(&o.stderr);
        println!("  {}", msg.trim().lines().last().unwrap_or(""));
    }
}
