//! `saker read` on captures recorded here with the real binary: filtered
//! golden lines, custom formats, JSON, Falco fields on real events, time
//! ranges, errors.

use std::path::{Path, PathBuf};

use crate::util::{bpf_guard, record_cmd, run, stderr, stdout, tmpdir};

#[path = "read_golden.rs"]
mod golden;

/// Records `sh -c SCRIPT` into `dir/name.scap` (only the command's tree).
fn record_sh(dir: &Path, name: &str, script: &str) -> PathBuf {
    let cap = dir.join(format!("{name}.scap"));
    let o = record_cmd(&cap, &["sh", "-c", script]);
    assert!(o.status.success(), "record failed: {}", stderr(&o));
    cap
}

fn read(cap: &Path, args: &[&str]) -> (String, String, Option<i32>) {
    let mut a = vec!["read", "-r", cap.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = run(&a);
    (stdout(&o), stderr(&o), o.status.code())
}

#[test]
fn read_filters_and_formats_real_events() {
    let Some(_g) = bpf_guard("read_filters_and_formats_real_events") else {
        return;
    };
    let dir = tmpdir();
    let cap = record_sh(
        dir.path(),
        "sh",
        "cat /etc/hostname >/dev/null; cat /etc/shadow >/dev/null; ls /tmp >/dev/null",
    );

    // Default line of an openat under /etc: fd resolved to its path.
    let (out, err, code) = read(
        &cap,
        &["evt.type=openat and fd.name startswith /etc and proc.name=cat"],
    );
    assert_eq!(code, Some(0), "{err}");
    let host = out
        .lines()
        .find(|l| l.contains("name=/etc/hostname"))
        .unwrap_or_else(|| panic!("no openat of /etc/hostname in:\n{out}"));
    assert!(host.contains(" cat ("), "{host}");
    assert!(
        host.contains(
            " < openat fd=3(/etc/hostname) dirfd=-100(AT_FDCWD) name=/etc/hostname flags=O_RDONLY"
        ),
        "{host}"
    );
    assert!(
        out.lines()
            .all(|l| l.contains(" openat ") && l.contains("(/etc/")),
        "{out}"
    );

    // Custom format; only the cat processes.
    let (out, _, _) = read(
        &cap,
        &[
            "-p",
            "%proc.name %fd.name",
            "evt.type=openat and proc.name=cat and fd.name startswith /etc/s",
        ],
    );
    assert_eq!(out.lines().collect::<Vec<_>>(), ["cat /etc/shadow"]);

    // Falco fields on the open of /etc/shadow.
    let fmt = "%proc.pname|%proc.aname[1]|%proc.cmdline|%user.name|%user.uid|%evt.type|%fd.typechar|%fd.directory|%fd.filename|%evt.is_open_read|%container.id|%proc.exepath|%evt.res|%evt.arg.flags|%proc.pcmdline";
    let (out, _, _) = read(
        &cap,
        &["-p", fmt, "fd.name=/etc/shadow and evt.type=openat"],
    );
    let want = "sh|sh|cat /etc/shadow|root|0|openat|f|/etc|shadow|true|host|/usr/bin/cat|SUCCESS|O_RDONLY|sh -c cat /etc/hostname >/dev/null; cat /etc/shadow >/dev/null; ls /tmp >/dev/null";
    assert_eq!(out.trim_end(), want);

    // Falco's spawned_process: every successful exec of the tree, with the new image.
    let (out, _, _) = read(
        &cap,
        &[
            "-p",
            "%proc.name %proc.exepath %proc.args",
            "evt.type in (execve, execveat) and evt.dir=< and evt.res=SUCCESS and proc.pname=sh",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "cat /usr/bin/cat /etc/hostname",
            "cat /usr/bin/cat /etc/shadow",
            "ls /usr/bin/ls /tmp"
        ]
    );

    // -n stops early; -j gives typed values.
    let (out, _, _) = read(
        &cap,
        &[
            "-j",
            "-n",
            "1",
            "-p",
            "%evt.num %proc.name %fd.num %evt.is_open_read %fd.name",
            "evt.type=openat and fd.name=/etc/shadow",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert!(v["evt.num"].as_u64().unwrap() > 0);
    assert_eq!(v["proc.name"], "cat");
    assert_eq!(v["fd.num"], 3);
    assert_eq!(v["evt.is_open_read"], true);
    assert_eq!(v["fd.name"], "/etc/shadow");

    // Without '*', events missing a field are skipped; with it, <NA>.
    let (out, _, _) = read(&cap, &["-p", "%fd.name", "evt.type=getpid"]);
    assert_eq!(out, "");
    let (all, _, _) = read(&cap, &["-n", "3", "-p", "*%evt.type %fd.sip"]);
    assert_eq!(all.lines().count(), 3);
    assert!(all.lines().all(|l| l.ends_with(" <NA>")), "{all}");
}

#[test]
fn read_time_ranges_and_errors() {
    let Some(_g) = bpf_guard("read_time_ranges_and_errors") else {
        return;
    };
    let dir = tmpdir();
    let cap = record_sh(
        dir.path(),
        "t",
        "cat /etc/hostname >/dev/null; sleep 0.3; cat /etc/hostname >/dev/null",
    );
    let (all, _, _) = read(
        &cap,
        &[
            "-p",
            "%evt.reltime",
            "evt.type=openat and fd.name=/etc/hostname",
        ],
    );
    let times: Vec<u64> = all.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(times.len(), 2, "{all}");
    assert!(times[1] - times[0] >= 300_000_000);
    // --from after the first open: only the second; the state still resolves fd names.
    let from = format!("+{}ms", times[0] / 1_000_000 + 100);
    let (out, err, code) = read(
        &cap,
        &[
            "--from",
            &from,
            "-p",
            "%evt.reltime %fd.name",
            "evt.type=openat and fd.name=/etc/hostname",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.trim_end().ends_with(" /etc/hostname"));
    let (out, _, _) = read(
        &cap,
        &[
            "--to",
            &from,
            "-p",
            "%evt.reltime",
            "evt.type=openat and fd.name=/etc/hostname",
        ],
    );
    assert_eq!(out.lines().count(), 1, "{out}");

    // Bad filter: caret rendering, exit 2.
    let (out, err, code) = read(&cap, &["proc.nme = cat"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(
        err.contains("unknown field 'proc.nme'") && err.contains("^^^^^^^^"),
        "{err}"
    );
    let (_, err, code) = read(&cap, &["-p", "%proc.name %nope.x"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nope.x"), "{err}");
    let (_, err, code) = read(&cap, &["--from", "yesterday"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("bad time"), "{err}");
}

#[test]
fn fields_lists_the_catalogue() {
    let o = run(&["fields"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for f in [
        "proc.aname[N]",
        "fd.name",
        "evt.arg[N|NAME]",
        "thread.cap_effective",
        "fs.path.target",
    ] {
        assert!(text.contains(f), "{f} missing");
    }
    let o = run(&["fields", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().len() > 150);
}

#[test]
fn read_missing_file_is_an_error() {
    let o = run(&["read", "-r", "/nonexistent/x.scap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/x.scap"));
}
