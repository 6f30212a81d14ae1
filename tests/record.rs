//! Recording for real with BPF: the workload, `cat /etc/hostname`, kill -9,
//! overload drops and their gap markers, unfinished syscalls, compat
//! syscalls, filters and stop conditions (rotation: `record/files.rs`).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use saker::capture::{self, CaptureReader};
use saker::event::table::Syscalls;
use saker::event::wire::{self, Record};

use crate::util::{bpf_guard, c_program, run, stderr, tmpdir, workload};

mod files;
mod lifecycle;
mod objects;

/// Every event of a capture, owned, with the table to name them.
struct Events {
    recs: Vec<Vec<u8>>,
    table: Syscalls,
}

impl Events {
    fn load(path: &Path) -> (Self, CaptureReader<memmap2::Mmap>) {
        let r = capture::open(path).expect("opening the capture");
        let mut recs = Vec::new();
        r.for_each_event(|_, rec| recs.push(rec.bytes().to_vec()))
            .expect("reading events");
        let table = Syscalls::new(r.meta().syscalls.clone()).expect("table");
        (Events { recs, table }, r)
    }
    fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        self.recs
            .iter()
            .map(|b| Record::parse(b).expect("valid record").0)
    }
    fn name(&self, r: &Record) -> String {
        self.table.name(r.code()).into_owned()
    }
    fn str_param(r: &Record, idx: u8) -> Option<String> {
        r.param(idx)
            .map(|p| String::from_utf8_lossy(p.data).into_owned())
    }
}

fn record(args: &[&str]) -> std::process::Output {
    let o = run(args);
    assert!(
        o.status.success() || args.contains(&"--"),
        "saker {args:?} failed: {}",
        stderr(&o)
    );
    o
}

/// Checks a recording of tests/workload/workload.c run with DIR `dir`:
/// exact syscall counts between its markers, paths, buffers, process tree.
pub fn assert_workload(cap: &Path, dir: &Path) {
    let (ev, reader) = Events::load(cap);
    assert!(reader.is_complete());
    let path_of = |r: &Record| Events::str_param(r, 1).unwrap_or_default();
    let begin = ev
        .iter()
        .find(|r| ev.name(r) == "openat" && path_of(r) == "/saker-marker-begin")
        .expect("begin marker");
    let pid = begin.pid();
    assert_eq!(begin.ret(), -2, "the marker open fails with ENOENT");
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let mut inside = false;
    let mut opens = Vec::new();
    let mut writes = Vec::new();
    for r in ev.iter().filter(|r| r.pid() == pid && r.is_syscall()) {
        let name = ev.name(&r);
        if name == "openat" && path_of(&r) == "/saker-marker-begin" {
            inside = true;
            continue;
        }
        if name == "openat" && path_of(&r) == "/saker-marker-end" {
            break;
        }
        if inside {
            *counts.entry(name.clone()).or_default() += 1;
            if name == "openat" {
                opens.push(path_of(&r));
            }
            if name == "write" {
                writes.push(r.param(1).map(|p| p.data.to_vec()).unwrap_or_default());
            }
        }
    }
    let want: BTreeMap<String, u32> = [
        ("getppid", 5),
        ("openat", 2),
        ("write", 3),
        ("read", 2),
        ("close", 4),
        ("pipe2", 1),
        ("clone", 2),
        ("wait4", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want, "syscalls of the workload between its markers");
    let file = dir.join("saker-workload.txt").display().to_string();
    assert_eq!(opens, [file.clone(), file]);
    assert_eq!(
        writes,
        [
            b"saker-write-0\n".to_vec(),
            b"saker-write-1\n".to_vec(),
            b"saker-write-2\n".to_vec()
        ]
    );

    // Process tree: two forks of the workload, the second execs /bin/true.
    let forks: Vec<Record> = ev
        .iter()
        .filter(|r| r.code() == wire::CODE_FORK && r.pid() == pid)
        .collect();
    assert_eq!(forks.len(), 2, "two children");
    let c1 = forks[0].arg(wire::fork::CHILD_PID).unwrap() as u32;
    let c2 = forks[1].arg(wire::fork::CHILD_PID).unwrap() as u32;
    let c1_write = ev
        .iter()
        .find(|r| r.pid() == c1 && ev.name(r) == "write")
        .expect("child write");
    assert_eq!(c1_write.param(1).unwrap().data, b"child says hi\n");
    let exit1 = ev
        .iter()
        .find(|r| r.pid() == c1 && r.code() == wire::CODE_EXIT)
        .expect("child exit");
    assert_eq!(
        exit1.arg(wire::exit::CODE),
        Some(3 << 8),
        "exit status 3 in wait format"
    );
    let exec = ev
        .iter()
        .find(|r| r.pid() == c2 && r.code() == wire::CODE_EXEC)
        .expect("exec of /bin/true");
    assert_eq!(
        Events::str_param(&exec, wire::exec::P_FILENAME).as_deref(),
        Some("/bin/true")
    );
    let argv = exec.param(wire::exec::P_ARGV).unwrap().data;
    assert_eq!(argv, b"true\0saker-arg\0");
    assert_eq!(exec.arg(wire::exec::PPID), Some(pid as u64));
    let exe = exec.param(wire::exec::P_EXE).unwrap().data;
    assert!(
        exe.starts_with(b"true\0"),
        "exe path components, leaf first: {exe:?}"
    );
}

#[test]
fn workload_syscalls_are_recorded_exactly() {
    let Some(_g) = bpf_guard("workload_syscalls_are_recorded_exactly") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("wl.scap");
    let wl = workload();
    let o = record(&[
        "record",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--only-cmd",
        "--",
        wl.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mode = std::fs::metadata(&cap).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "capture files are private");

    assert_workload(&cap, dir.path());
}

/// Checks a recording of `cat /etc/hostname` (stdout a pipe) whose file held
/// `content`: the exec of cat with its argv, the openat of the path, the read
/// of the file's bytes from that fd, and their write to stdout.
pub fn assert_cat_hostname(cap: &Path, content: &[u8]) {
    let (ev, _) = Events::load(cap);
    let recs: Vec<Record> = ev.iter().collect();
    let exec = recs
        .iter()
        .find(|r| {
            r.code() == wire::CODE_EXEC
                && r.param(wire::exec::P_ARGV)
                    .is_some_and(|p| p.data == b"cat\0/etc/hostname\0")
        })
        .expect("exec of cat with its argv");
    assert_eq!(
        Events::str_param(exec, wire::exec::P_COMM).as_deref(),
        Some("cat")
    );
    let at = recs
        .iter()
        .position(|r| {
            r.pid() == exec.pid()
                && ev.name(r) == "openat"
                && Events::str_param(r, 1).as_deref() == Some("/etc/hostname")
        })
        .expect("cat's openat of /etc/hostname");
    let open = recs[at];
    assert!(open.ret() >= 0);
    let fd = open.ret() as u64;
    let read = recs[at..]
        .iter()
        .find(|r| {
            r.tid() == open.tid() && ev.name(r) == "read" && r.arg(0) == Some(fd) && r.ret() > 0
        })
        .expect("read of the file after its open");
    let n = content.len().min(80);
    assert_eq!(read.param(1).unwrap().data, &content[..n]);
    assert_eq!(read.ret() as usize, content.len());
    let write = recs[at..]
        .iter()
        .find(|r| r.tid() == open.tid() && ev.name(r) == "write")
        .expect("write to stdout");
    assert_eq!(write.arg(0), Some(1));
    assert_eq!(write.param(1).unwrap().data, &content[..n]);
    let close = recs[at..]
        .iter()
        .find(|r| r.tid() == open.tid() && ev.name(r) == "close" && r.arg(0) == Some(fd));
    assert!(close.is_some_and(|c| c.ret() == 0), "the fd is closed");
}

#[test]
fn cat_hostname_open_and_read() {
    let Some(_g) = bpf_guard("cat_hostname_open_and_read") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("cat.scap");
    let o = record(&[
        "record",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--",
        "cat",
        "/etc/hostname",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let content = std::fs::read("/etc/hostname").unwrap();
    assert_eq!(o.stdout, content, "cat's output passes through");
    assert_cat_hostname(&cap, &content);
}

#[test]
fn killed_recorder_leaves_a_readable_file() {
    let Some(_g) = bpf_guard("killed_recorder_leaves_a_readable_file") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("killed.scap");
    let load = crate::util::Load::busy();
    let mut rec = crate::util::saker()
        .args([
            "record",
            "-q",
            "--block-kb",
            "16",
            "-w",
            cap.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Past the metadata and two 16 KiB blocks (compressed), whatever the
    // machine's load.
    assert!(crate::util::wait_for_file(&cap, 64 * 1024));
    std::thread::sleep(Duration::from_millis(500));
    rec.kill().unwrap(); // SIGKILL
    crate::util::wait_child(&mut rec);
    drop(load);

    let r = capture::open(&cap).expect("a killed recording still opens");
    assert!(!r.is_complete());
    assert!(r.truncation().is_some());
    assert!(r.blocks().len() >= 2, "several 16 KiB blocks were written");
    // The readable part ends within one block of the cut: only the block
    // being written when the recorder died is lost.
    let cut = std::fs::metadata(&cap).unwrap().len();
    let end = r.blocks().last().unwrap().end();
    assert_eq!(r.truncation().unwrap().offset, end);
    let one_block = 16 * 1024 + 65_536 + 88 + 6 * 2048;
    assert!(
        cut - end < one_block,
        "cut at {cut}, last complete block ends at {end}"
    );
    let indexed: u64 = r.blocks().iter().map(|b| b.event_count as u64).sum();
    let mut seen = 0u64;
    r.for_each_event(|_, _| seen += 1).unwrap();
    assert_eq!(seen, indexed, "every event of the complete blocks is there");
    let me = rec.id();
    let mut own = 0;
    r.for_each_event(|_, e| own += u32::from(e.pid() == me))
        .unwrap();
    assert_eq!(own, 0, "the recorder never records itself");
    let v = run(&["verify", cap.to_str().unwrap()]);
    assert!(!v.status.success(), "verify must fail on a truncated file");
    assert!(
        stderr(&v).to_lowercase().contains("trunc")
            || crate::util::stdout(&v).to_lowercase().contains("trunc")
    );
}

#[test]
fn overload_drops_are_marked_in_the_stream() {
    let Some(_g) = bpf_guard("overload_drops_are_marked_in_the_stream") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("drops.scap");
    let o = record(&[
        "record",
        "-q",
        "--json",
        "--ring-kb",
        "16",
        "-w",
        cap.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        // 200,000 syscalls in a burst: more than a 16 KiB ring holds
        // between drains, however idle the rest of the machine is.
        "dd if=/dev/zero of=/dev/null bs=1 count=100000 2>/dev/null; cat /etc/hostname >/dev/null",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (ev, r) = Events::load(&cap);
    let marked: u64 = ev
        .iter()
        .filter(|r| r.code() == wire::CODE_DROP)
        .map(|r| r.arg(0).unwrap())
        .sum();
    let total = summary["drops"].as_u64().unwrap();
    assert!(total > 0, "a 16 KiB ring overflows under a syscall burst");
    assert_eq!(marked, total, "gap markers account for every lost event");
    assert_eq!(r.summary().unwrap().drops, total);
    assert_eq!(r.totals().drops, total);
    // `read` prints each marker as a line (text) or a gap object (JSON).
    let text = run(&["read", "-r", cap.to_str().unwrap()]);
    let lines: Vec<String> = crate::util::stdout(&text)
        .lines()
        .filter(|l| l.starts_with("--- "))
        .map(str::to_string)
        .collect();
    let lost: u64 = lines
        .iter()
        .filter_map(|l| l[4..].split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(lost, total, "text marker lines add up to the drops");
    assert!(
        lines.iter().all(|l| l.contains(" events lost on CPU ")),
        "{lines:?}"
    );
    let json = run(&["read", "-j", "-r", cap.to_str().unwrap()]);
    let lost: u64 = crate::util::stdout(&json)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["gap"]["lost"].as_u64())
        .sum();
    assert_eq!(lost, total, "JSON gap objects add up to the drops");
}

#[test]
fn blocked_syscalls_are_written_as_unfinished() {
    let Some(_g) = bpf_guard("blocked_syscalls_are_written_as_unfinished") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("unfinished.scap");
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleeper.id().to_string();
    let o = record(&[
        "record",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "-M",
        "1",
        "--pid",
        &pid,
    ]);
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (ev, _) = Events::load(&cap);
    let u = ev
        .iter()
        .find(|r| r.flags() & wire::F_UNFINISHED != 0 && r.pid() == sleeper.id())
        .expect("sleep's clock_nanosleep is unfinished");
    assert_eq!(ev.name(&u), "clock_nanosleep");
}

#[test]
fn compat_syscalls_are_recorded_and_named() {
    let Some(_g) = bpf_guard("compat_syscalls_are_recorded_and_named") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("compat.scap");
    let prog = c_program("compat");
    let o = record(&[
        "record",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--only-cmd",
        "--",
        prog.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (ev, _) = Events::load(&cap);
    let compat: Vec<(u16, String)> = ev
        .iter()
        .filter(|r| r.flags() & wire::F_COMPAT != 0)
        .map(|r| (r.code(), ev.name(&r)))
        .collect();
    let ppid = wire::CODE_COMPAT_BASE + 64;
    let pid = wire::CODE_COMPAT_BASE + 20;
    assert_eq!(
        compat
            .iter()
            .filter(|(c, n)| *c == ppid && n == "getppid")
            .count(),
        3,
        "{compat:?}"
    );
    assert_eq!(
        compat
            .iter()
            .filter(|(c, n)| *c == pid && n == "getpid")
            .count(),
        2,
        "{compat:?}"
    );
    assert!(compat.iter().all(|(c, _)| *c >= wire::CODE_COMPAT_BASE));
}

#[test]
fn event_count_limit_is_exact() {
    let Some(_g) = bpf_guard("event_count_limit_is_exact") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("count.scap");
    let _load = crate::util::Load::start();
    let o = record(&["record", "-q", "-w", cap.to_str().unwrap(), "-n", "500"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = capture::open(&cap).unwrap();
    // `-n` counts events; gap markers (drops under load) come on top.
    let (mut events, mut markers) = (0u64, 0u64);
    r.for_each_event(|_, rec| {
        if rec.code() == wire::CODE_DROP {
            markers += 1;
        } else {
            events += 1;
        }
    })
    .unwrap();
    assert_eq!(events, 500);
    assert_eq!(r.totals().events, 500 + markers);
    assert_eq!(markers > 0, r.summary().unwrap().drops > 0);
    assert_eq!(r.summary().unwrap().stop_reason, "count");
}

#[test]
fn command_status_is_the_exit_code() {
    let Some(_g) = bpf_guard("command_status_is_the_exit_code") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("status.scap");
    let o = run(&[
        "record",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--only-cmd",
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let r = capture::open(&cap).unwrap();
    assert_eq!(r.summary().unwrap().command_status, Some(7));
    assert_eq!(r.summary().unwrap().stop_reason, "command");
}

#[test]
fn comm_filter_keeps_only_that_comm() {
    let Some(_g) = bpf_guard("comm_filter_keeps_only_that_comm") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("comm.scap");
    let o = run(&[
        "record",
        "-q",
        "-w",
        cap.to_str().unwrap(),
        "--comm",
        "cat",
        "--",
        "sh",
        "-c",
        "cat /etc/hostname; ls / >/dev/null",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (ev, _) = Events::load(&cap);
    let comms: std::collections::BTreeSet<String> = ev
        .iter()
        .filter(|r| r.code() == wire::CODE_EXEC)
        .filter_map(|r| Events::str_param(&r, wire::exec::P_COMM))
        .collect();
    assert_eq!(comms.into_iter().collect::<Vec<_>>(), ["cat"]);
    assert!(ev
        .iter()
        .any(|r| ev.name(&r) == "openat"
            && Events::str_param(&r, 1).as_deref() == Some("/etc/hostname")));
    // Nothing from ls or sh: every syscall event belongs to a thread group that exec'd cat.
    let cat_pids: Vec<u32> = ev
        .iter()
        .filter(|r| r.code() == wire::CODE_EXEC)
        .map(|r| r.pid())
        .collect();
    assert!(ev
        .iter()
        .filter(|r| r.is_syscall() && r.flags() & wire::F_UNFINISHED == 0)
        .all(|r| cat_pids.contains(&r.pid())));
}

#[test]
fn sigterm_stops_cleanly() {
    let Some(_g) = bpf_guard("sigterm_stops_cleanly") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("term.scap");
    let mut rec = crate::util::saker()
        .args(["record", "-q", "-w", cap.to_str().unwrap()])
        .spawn()
        .unwrap();
    // The file exists once the probes are attached and the snapshot taken.
    assert!(crate::util::wait_for_file(&cap, 1));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGTERM) };
    let st = crate::util::wait_child(&mut rec);
    assert!(st.success());
    let r = capture::open(&cap).unwrap();
    assert!(r.is_complete(), "a signal stop writes the footer");
    assert_eq!(r.summary().unwrap().stop_reason, "signal");
    assert!(r.verify().is_ok());
}

/// A live consumer (`RecordHooks`) gets the first file's metadata once,
/// before any records: the same metadata the file holds.
#[test]
fn hooks_get_the_meta_before_the_records() {
    use saker::capture::CaptureMeta;
    use saker::recorder::{RecordHooks, RecordOptions};
    let Some(_g) = bpf_guard("hooks_get_the_meta_before_the_records") else {
        return;
    };
    #[derive(Default)]
    struct Hooks {
        meta: Vec<CaptureMeta>,
        early: u64,
        records: u64,
    }
    impl RecordHooks for Hooks {
        fn on_start(&mut self, meta: &CaptureMeta) {
            self.meta.push(meta.clone());
        }
        fn on_records(&mut self, batch: &[u8]) {
            if self.meta.is_empty() {
                self.early += 1;
            }
            let mut rest = batch;
            while let Ok((_, tail)) = Record::parse(rest) {
                self.records += 1;
                rest = tail;
            }
        }
    }
    let dir = tmpdir();
    let opts = RecordOptions {
        output: dir.path().join("hooks.scap"),
        duration: None,
        max_events: None,
        snaplen: 80,
        rotate_mb: None,
        rotate_secs: None,
        rotate_files: None,
        zstd_level: 3,
        pids: Vec::new(),
        comms: Vec::new(),
        only_cmd: true,
        latency: false,
        ring_bytes: 1 << 20,
        block_size: 1 << 20,
        command: vec!["cat".into(), "/etc/hostname".into()],
        command_line: vec!["test".into()],
        command_log: Some(dir.path().join("cat.log")),
    };
    let mut h = Hooks::default();
    let rep = saker::recorder::record(&opts, &mut h).expect("recording");
    assert_eq!(rep.command_status, Some(0));
    assert_eq!(h.meta.len(), 1, "on_start is called once");
    assert_eq!(h.early, 0, "no records before on_start");
    let file = capture::open(&rep.files[0]).unwrap();
    assert_eq!(&h.meta[0], file.meta());
    assert!(!h.meta[0].snapshot.procs.is_empty());
    assert_eq!(h.records, file.totals().events, "the hooks saw every event");
    assert_eq!(
        std::fs::read(dir.path().join("cat.log")).unwrap(),
        std::fs::read("/etc/hostname").unwrap(),
        "the command's output went to its log"
    );
}
