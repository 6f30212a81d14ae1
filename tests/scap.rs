//! Imported sysdig/Falco captures through the CLI: every command treats
//! them like ours; `verify` says they carry no integrity chain.

use std::path::{Path, PathBuf};

use crate::util::{run, stderr, stdout, tmpdir};

fn external() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/external");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 27, "the 27 external captures");
    v
}

/// Raw event counts from MANIFEST.md, by file name.
fn manifest_counts() -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/external/MANIFEST.md"),
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let header = rows
        .iter()
        .find(|r| r.contains(&"raw ev"))
        .expect("a header row with 'raw ev'");
    let (name_col, raw_col) = (0, header.iter().position(|c| *c == "raw ev").unwrap());
    let mut out = Vec::new();
    for r in &rows {
        let (Some(name), Some(raw)) = (r.get(name_col), r.get(raw_col)) else {
            continue;
        };
        if let (true, Ok(n)) = (name.ends_with(".scap"), raw.replace(',', "").parse::<u64>()) {
            out.push((name.to_string(), n));
        }
    }
    out
}

#[test]
fn info_json_opens_every_external_capture() {
    let counts = manifest_counts();
    for f in external() {
        let o = run(&["info", "--json", f.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", f.display(), stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["format"], "scap");
        let name = f.file_name().unwrap().to_str().unwrap();
        if let Some((_, n)) = counts.iter().find(|(m, _)| m == name) {
            assert_eq!(
                v["raw_scap_events"].as_u64(),
                Some(*n),
                "{name}: raw events vs MANIFEST.md"
            );
        }
    }
    assert!(
        counts.len() >= 20,
        "MANIFEST.md lists the counts: {counts:?}"
    );
}

#[test]
fn verify_says_scap_has_no_chain() {
    let f = &external()[0];
    let o = run(&["verify", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no checksums or hash chain"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn convert_writes_a_verified_smaller_capture() {
    let dir = tmpdir();
    let src = external()
        .into_iter()
        .find(|p| p.ends_with("sf_mpm-event_full_capture.scap"))
        .unwrap();
    let out = dir.path().join("conv.scap");
    let o = run(&[
        "convert",
        src.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("x the original"),
        "prints the size ratio"
    );
    let v = run(&["verify", out.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
    assert!(std::fs::metadata(&out).unwrap().len() < std::fs::metadata(&src).unwrap().len());
    let bad = run(&[
        "convert",
        out.to_str().unwrap(),
        "-w",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2), "ours is not a .scap");
    // A failed import leaves an existing output as it was, and no
    // temporary file behind.
    let junk = dir.path().join("junk.scap.gz");
    std::fs::write(
        &junk,
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef],
    )
    .unwrap();
    let before = std::fs::read(&out).unwrap();
    let o = run(&[
        "convert",
        junk.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before, "existing output kept");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("saker-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Converting a file onto itself replaces it with the converted capture.
    let same = dir.path().join("same.scap");
    std::fs::copy(&src, &same).unwrap();
    let s = same.to_str().unwrap();
    let o = run(&["convert", s, "-w", s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run(&["verify", s]).status.success());
}

/// `read` prints a `.scap` file as it imports it (no capture built) unless
/// it needs the time frame first (`-t r`...): either way the lines are
/// those of its converted capture, for plain, gzipped and cut files.
#[test]
fn streamed_scap_reads_print_what_the_converted_capture_prints() {
    let dir = tmpdir();
    let big = external_file("sf_mpm-event_full_capture.scap");
    let bytes = std::fs::read(&big).unwrap();
    let gz = dir.path().join("nginx.scap.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(
        &mut e,
        &std::fs::read(external_file("sf_nginx_nginx.scap")).unwrap(),
    )
    .unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let cut = dir.path().join("cut.scap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    // Over 8 MiB: walked in two passes on two threads (smaller files in
    // one), its records streamed to the printer as they are converted.
    let four = dir.path().join("four.scap");
    crate::scap_big::enlarge(&big, &four, 4).unwrap();
    assert!(std::fs::metadata(&four).unwrap().len() > 8 << 20);
    let files = [
        four,
        big,
        external_file("sf_objectstore_download.scap"),
        external_file("curl_google.scap"),
        gz,
        cut.clone(),
    ];
    let args: &[&[&str]] = &[
        &[],
        &["-j", "-v"],
        &["evt.type=open or evt.type=openat"],
        &["proc.name=httpd and fd.type=file", "-x"],
        &[
            "-p",
            "%evt.num %proc.name %fd.name %container.name %evt.latency",
        ],
        &["-n", "7"],
        &["-t", "r", "fd.type=ipv4"],
        // Codes the filter cannot match are imported bare (header only):
        // their records still count and still make their threads known.
        &["evt.type in (read, close) and fd.num>2", "-n", "300"],
        &["not evt.type in (futex, clock_gettime, read, mmap)"],
        &[
            "evt.type=clock_gettime",
            "-p",
            "%evt.num %thread.tid %proc.name",
        ],
        &["evt.type=open", "-p", "%evt.num %evt.type"],
    ];
    for (i, f) in files.iter().enumerate() {
        let conv = dir.path().join(format!("{i}.sakr"));
        let o = run(&["convert", f.to_str().unwrap(), "-w", conv.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        for a in args {
            let with = |p: &Path| {
                let mut v = vec!["read", "-r", p.to_str().unwrap()];
                v.extend_from_slice(a);
                run(&v)
            };
            let (s, c) = (with(f), with(&conv));
            assert!(s.status.success() && c.status.success(), "{}", stderr(&s));
            if a.is_empty() {
                assert!(!stdout(&c).is_empty(), "{f:?} prints its events");
            }
            assert_eq!(stdout(&s), stdout(&c), "{f:?} {a:?}");
            // Only the cut file says it is incomplete, and where.
            assert_eq!(
                stderr(&s).contains("is incomplete at offset"),
                *f == cut,
                "{f:?}"
            );
        }
    }
}

fn external_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/captures/external")
        .join(name)
}

/// Container name, image and privileged flag come from the capture's
/// container metadata; the goldens are the distinct lines of
/// `sysdig -r F -p '%thread.tid|%container.id|...' 'container.id!=host'`.
#[test]
fn container_fields_match_sysdig() {
    let fmt = "%thread.tid|%container.id|%container.name|%container.image|%container.image.repository|%container.image.tag|%container.privileged";
    for name in [
        "psp_privileged",
        "psp_run_as_user_0_container",
        "psp_run_as_user_65534_container",
        "psp_write_tmp_test",
    ] {
        let f = external_file(&format!("{name}.scap"));
        let o = run(&[
            "read",
            "-r",
            f.to_str().unwrap(),
            "-p",
            fmt,
            "container.id!=host",
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let mut ours: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
        ours.sort();
        ours.dedup();
        let golden = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/golden/scap/containers/{name}.txt")),
        )
        .unwrap();
        // sysdig prints the container event itself (tid -1); saker keeps container
        // events as capture metadata, not as records, so those lines have no twin.
        let theirs: Vec<String> = golden
            .lines()
            .filter(|l| !l.starts_with("-1|"))
            .map(str::to_string)
            .collect();
        assert_eq!(ours, theirs, "{name}");
    }
}

/// A cut `.scap` file opens with what came before the cut, and `info`
/// (like read and the chisels) says it is incomplete and where.
#[test]
fn truncated_scap_is_reported_incomplete() {
    let src = std::fs::read(external_file("sample.scap")).unwrap();
    let dir = tmpdir();
    let cut = dir.path().join("cut.scap");
    // sample.scap's process and fd lists fill its first ~93 KB; cut among the events.
    std::fs::write(&cut, &src[..src.len() * 9 / 10]).unwrap();
    let o = run(&["info", "--json", cut.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["complete"], false);
    let at = v["truncated_at"].as_u64().expect("an offset");
    assert!(at > 0 && at <= src.len() as u64 * 9 / 10, "{at}");
    assert!(v["events"].as_u64().unwrap() > 0);
    let whole = run(&[
        "info",
        "--json",
        external_file("sample.scap").to_str().unwrap(),
    ]);
    let w: serde_json::Value = serde_json::from_str(&stdout(&whole)).unwrap();
    assert_eq!(
        (w["complete"].clone(), w["truncated_at"].clone()),
        (true.into(), serde_json::Value::Null)
    );
    let text = run(&["info", cut.to_str().unwrap()]);
    assert!(
        stdout(&text).contains(&format!("complete:    NO: truncated at offset {at}")),
        "{}",
        stdout(&text)
    );
    // read and the chisels use what came before the cut, and say where it is.
    let c = cut.to_str().unwrap();
    for args in [
        &["read", "-r", c][..],
        &["read", "-r", c, "-c", "topscalls"],
    ] {
        let o = run(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).is_empty(), "{args:?}");
        let warn = format!("is incomplete at offset {at}");
        assert!(stderr(&o).contains(&warn), "{args:?}: {}", stderr(&o));
    }
}

/// `thread.tid group.gid user.uid` (distinct lines) against
/// `sysdig -r F -p '%thread.tid %group.gid %user.uid'` (internal events
/// left out): a thread the capture never describes has unknown
/// credentials, 4294967295 in both. Known difference (sf_setuid_setuid):
/// children forked by such a thread get the `clone` exit's uid/gid in
/// sysdig; our FORK record carries no credentials, so they inherit the
/// parent's unknown ones until they exec.
#[test]
fn credentials_match_sysdig() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scap/creds");
    for (f, children) in [
        ("sf_nginx_nginx", &[][..]),
        ("sf_client-server_tcp-client-server", &[]),
        ("cat_write", &[]),
        ("sf_setuid_setuid", &["4699", "4701", "4703"]),
    ] {
        let want: std::collections::BTreeSet<String> =
            std::fs::read_to_string(format!("{dir}/{f}.txt"))
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
        let p = external_file(&format!("{f}.scap"));
        let o = run(&[
            "read",
            "-r",
            p.to_str().unwrap(),
            "-p",
            "*%thread.tid %group.gid %user.uid",
        ]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
        let got: std::collections::BTreeSet<String> =
            stdout(&o).lines().map(str::to_string).collect();
        let tid = |l: &String| l.split(' ').next().unwrap_or("").to_string();
        let keep = |s: &std::collections::BTreeSet<String>| -> std::collections::BTreeSet<String> {
            s.iter()
                .filter(|l| !children.contains(&tid(l).as_str()))
                .cloned()
                .collect()
        };
        assert!(!want.is_empty(), "{f}");
        assert_eq!(keep(&got), keep(&want), "{f}");
        for c in children {
            let ours: Vec<&String> = got.iter().filter(|l| tid(l) == *c).collect();
            assert!(
                !ours.is_empty() && ours.iter().all(|l| l.contains(" 4294967295 ")),
                "{f}: child {c}: {ours:?}"
            );
        }
    }
}

/// A reader that stops early (`saker read ... | head`) ends the command
/// cleanly: exit 0 and nothing on stderr, for a streamed `.scap` and for
/// one of our captures, plain and JSON.
#[test]
fn a_closed_pipe_ends_read_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let scap = external_file("sf_mpm-event_full_capture.scap");
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/files-open.scap");
    for (file, json) in [(&scap, false), (&scap, true), (&ours, false)] {
        let mut cmd = crate::util::saker();
        cmd.arg("read").arg("-r").arg(file);
        if json {
            cmd.arg("-j");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both print far more than a pipe holds: the writer meets the close.
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let status = crate::util::wait_child(&mut child);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(
            (status.code(), err.as_str()),
            (Some(0), ""),
            "{file:?} json={json}"
        );
    }
}
