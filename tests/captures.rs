//! The committed sample captures in `captures/` (see captures/README.md):
//! they open, verify, and hold what their recipe says.

use std::path::{Path, PathBuf};

use saker::capture;

use crate::record::{assert_cat_hostname, assert_workload};
use crate::util::{run, stdout};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

#[test]
fn every_sample_is_complete_and_intact() {
    let mut n = 0;
    for ent in std::fs::read_dir(sample("")).unwrap() {
        let p = ent.unwrap().path();
        if p.extension().is_none_or(|e| e != "scap") {
            continue;
        }
        let r = capture::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(r.is_complete(), "{}", p.display());
        let v = r.verify();
        assert!(v.is_ok(), "{}: {:?}", p.display(), v.problems);
        assert!(r.totals().events > 0);
        assert!(
            std::fs::metadata(&p).unwrap().len() < 1 << 20,
            "samples stay under 1 MB"
        );
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn workload_sample_has_the_known_syscalls() {
    assert_workload(&sample("workload.scap"), Path::new("/tmp"));
}

/// The sample was recorded on a machine whose /etc/hostname held its
/// hostname (as the capture's machine section says) and a newline.
#[test]
fn cat_hostname_sample_reads_the_hostname() {
    let cap = sample("cat-hostname.scap");
    let r = capture::open(&cap).unwrap();
    let content = format!("{}\n", r.meta().machine.hostname);
    assert!(content.len() > 1);
    assert_cat_hostname(&cap, content.as_bytes());
}

#[test]
fn info_json_has_the_documented_keys() {
    let o = run(&["info", "--json", sample("system-1s.scap").to_str().unwrap()]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for k in [
        "events", "drops", "start_ns", "end_ns", "blocks", "bytes", "complete", "syscalls",
    ] {
        assert!(v.get(k).is_some(), "info --json lacks {k}");
    }
    let total: u64 = v["syscalls"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        v["events"].as_u64().unwrap(),
        "per-type counts add up"
    );
    assert_eq!(v["complete"], true);
    assert!(v["end_ns"].as_i64().unwrap() > v["start_ns"].as_i64().unwrap());
}

#[test]
fn verify_finds_a_flipped_byte_and_says_where() {
    let dir = crate::util::tmpdir();
    let p = dir.path().join("flipped.scap");
    let mut bytes = std::fs::read(sample("cat-hostname.scap")).unwrap();
    let r = capture::CaptureReader::new(bytes.clone()).unwrap();
    let b = r.blocks()[0];
    let at = (b.offset + b.header_len as u64 + 10) as usize;
    bytes[at] ^= 0x40;
    std::fs::write(&p, &bytes).unwrap();
    let o = run(&["verify", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = crate::util::stderr(&o);
    assert!(
        err.contains(&format!("offset {}", b.offset)),
        "names the block's offset: {err}"
    );
    let ok = run(&["verify", sample("cat-hostname.scap").to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
}
