//! Replay throughput with Falco's stable ruleset on one core: events/s through state,
//! the event-type index and the candidate rules.
//!
//! With root, BTF and a release binary it records a syscall-heavy workload (find + tar +
//! a shell loop) with the real recorder; otherwise it replays the largest external .scap
//! captures. `cargo build --release && cargo bench --bench replay` (env: REPLAY_ROUNDS).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::replay::{open_bytes, replay};
use saker::rules::{self, CompileOptions, EngineOptions};

const WORKLOAD: &str = "find /usr -xdev >/dev/null 2>&1; tar cf - /usr/include 2>/dev/null | cat >/dev/null; \
                        for i in $(seq 1 300); do cat /etc/hostname >/dev/null; ls /tmp >/dev/null; done";

fn record(dir: &Path) -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/saker");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !bin.exists() || !Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!(
            "not recording (needs root, BTF and target/release/saker); using external captures"
        );
        return None;
    }
    let cap = dir.join("workload.cap");
    let st = Command::new(&bin)
        .args(["record", "-q", "--only-cmd", "-w"])
        .arg(&cap)
        .args(["--", "sh", "-c", WORKLOAD])
        .status()
        .ok()?;
    st.success().then_some(cap)
}

fn main() {
    let rounds: usize = std::env::var("REPLAY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/falco/falco_rules.yaml")).expect("stable ruleset");
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
    let captures: Vec<PathBuf> = match record(dir.path()) {
        Some(c) => vec![c],
        None => [
            "sf_mpm-event_full_capture.scap",
            "sf_nginx_nginx.scap",
            "sf_objectstore_download.scap",
        ]
        .iter()
        .map(|n| Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/external")).join(n))
        .collect(),
    };
    for path in captures {
        let cap = open_bytes(std::fs::read(&path).expect("capture")).expect("opens");
        let mut best = f64::MAX;
        let mut last = None;
        for _ in 0..rounds {
            let set = load();
            let t = Instant::now();
            let (_, stats) =
                replay(&cap, set, EngineOptions::default(), &mut |_| true).expect("replays");
            best = best.min(t.elapsed().as_secs_f64());
            last = Some(stats);
        }
        let s = last.expect("at least one round");
        let t = Instant::now();
        let (_, base) = replay(
            &cap,
            rules::Ruleset::default(),
            EngineOptions::default(),
            &mut |_| true,
        )
        .expect("replays");
        let base_s = t.elapsed().as_secs_f64();
        println!(
            "  baseline without rules (read + decode + state): {:.3} s = {:.2} M events/s",
            base_s,
            base.events as f64 / base_s / 1e6
        );
        println!(
            "{}: {} events, {} evaluated, {} alerts, best {:.3} s = {:.2} M events/s",
            path.file_name().unwrap_or_default().to_string_lossy(),
            s.events,
            s.evaluated,
            s.alerts,
            best,
            s.events as f64 / best / 1e6
        );
    }
}
