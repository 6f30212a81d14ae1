//! Processes and threads: parsers for `/proc/PID/{stat,status,cmdline,
//! loginuid,cgroup}` and the walk over `/proc/PID/task/TID` that builds one
//! [`ProcInfo`] per thread.

use std::path::Path;

use super::net::SocketTables;
use super::{fds, read_capped, read_link, read_text, ProcfsError, SnapshotOptions, SnapshotStats};
use crate::event::meta::ProcInfo;

/// Cap on `/proc/PID/cmdline` (the kernel's own argv limit is much larger;
/// anything beyond this is cut).
const CMDLINE_CAP: u64 = 256 * 1024;
/// Cap on small procfs text files (stat, status, cgroup...).
const SMALL_CAP: u64 = 64 * 1024;

/// The fields of `/proc/PID/stat` the snapshot uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Field 1: pid (a tid for `task/TID/stat`).
    pub pid: u32,
    /// Field 2: comm, without the parentheses.
    pub comm: String,
    /// Field 3: state letter.
    pub state: char,
    /// Field 4: parent pid.
    pub ppid: u32,
    /// Field 5: process group.
    pub pgrp: i32,
    /// Field 6: session.
    pub session: i32,
    /// Field 7: controlling tty device number.
    pub tty_nr: i32,
    /// Field 9: the task's `PF_*` flags.
    pub flags: u32,
    /// Field 22: start time in clock ticks after boot.
    pub start_ticks: u64,
    /// Field 39: the CPU the task last ran on (absent on very old kernels).
    pub processor: Option<u32>,
}

/// `PF_KTHREAD` in [`Stat::flags`]: a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

impl Stat {
    /// Whether the task is a kernel thread.
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Splits `s` on spaces, returning each token with its byte offset in `s`.
fn tokens(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split(' ')
        .scan(0usize, |off, tok| {
            let at = *off;
            *off += tok.len() + 1;
            Some((at, tok))
        })
        .filter(|(_, tok)| !tok.is_empty())
}

/// Parses `/proc/PID/stat`. The comm is everything between the first `(`
/// and the LAST `)`, so comms with spaces or parentheses parse correctly.
pub fn parse_stat(text: &str) -> Result<Stat, ProcfsError> {
    let text = text.trim_end_matches('\n');
    let open = text
        .find('(')
        .ok_or_else(|| ProcfsError::parse(1, 1, "no '(' before comm"))?;
    let close = text
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or_else(|| ProcfsError::parse(1, open + 1, "no ')' after comm"))?;
    let pid_txt = text[..open].trim();
    let pid = pid_txt
        .parse()
        .map_err(|_| ProcfsError::parse(1, 1, format!("bad pid {pid_txt:?}")))?;
    let comm = text[open + 1..close].to_string();
    let rest_at = close + 1;
    // Field 3 is at index 0 of the tokens after ')'.
    let fields: Vec<(usize, &str)> = tokens(&text[rest_at..]).collect();
    let get = |n: usize| -> Result<(usize, &str), ProcfsError> {
        fields.get(n - 3).copied().ok_or_else(|| {
            ProcfsError::parse(1, text.len() + 1, format!("stat ends before field {n}"))
        })
    };
    fn num<T: std::str::FromStr>(
        n: usize,
        (at, tok): (usize, &str),
        base: usize,
    ) -> Result<T, ProcfsError> {
        tok.parse().map_err(|_| {
            ProcfsError::parse(1, base + at + 1, format!("bad stat field {n}: {tok:?}"))
        })
    }
    let state_tok = get(3)?;
    let mut st = state_tok.1.chars();
    let state = match (st.next(), st.next()) {
        (Some(c), None) => c,
        _ => {
            return Err(ProcfsError::parse(
                1,
                rest_at + state_tok.0 + 1,
                format!("bad state {:?}", state_tok.1),
            ))
        }
    };
    Ok(Stat {
        pid,
        comm,
        state,
        ppid: num(4, get(4)?, rest_at)?,
        pgrp: num(5, get(5)?, rest_at)?,
        session: num(6, get(6)?, rest_at)?,
        tty_nr: num(7, get(7)?, rest_at)?,
        flags: num(9, get(9)?, rest_at)?,
        start_ticks: num(22, get(22)?, rest_at)?,
        processor: get(39).ok().and_then(|f| num(39, f, rest_at).ok()),
    })
}

/// The fields of `/proc/PID/status` the snapshot uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `PPid`.
    pub ppid: u32,
    /// `Uid`: real, effective.
    pub uid: [u32; 2],
    /// `Gid`: real, effective.
    pub gid: [u32; 2],
    /// `CapEff` (0 when missing).
    pub cap_eff: u64,
    /// Last value of `NStgid` (pid in the innermost pid namespace).
    pub vpid: Option<u32>,
    /// Last value of `NSpid` (tid in the innermost pid namespace).
    pub vtid: Option<u32>,
}

/// Parses `/proc/PID/status`. `PPid`, `Uid` and `Gid` are required.
pub fn parse_status(text: &str) -> Result<Status, ProcfsError> {
    let mut st = Status::default();
    let (mut have_ppid, mut have_uid, mut have_gid) = (false, false, false);
    for (i, line) in text.lines().enumerate() {
        let Some((key, val)) = line.split_once(':') else {
            continue;
        };
        let lno = i + 1;
        let val_col = key.len() + 2;
        let bad = |what: &str| {
            ProcfsError::parse(
                lno,
                val_col,
                format!("bad {key} value {:?} ({what})", val.trim()),
            )
        };
        let ids = || -> Result<Vec<u32>, ProcfsError> {
            val.split_whitespace()
                .map(|t| t.parse::<u32>().map_err(|_| bad("not a number")))
                .collect()
        };
        match key {
            "PPid" => {
                st.ppid = val.trim().parse().map_err(|_| bad("not a number"))?;
                have_ppid = true;
            }
            "Uid" | "Gid" => {
                let v = ids()?;
                if v.len() < 2 {
                    return Err(bad("need real and effective ids"));
                }
                if key == "Uid" {
                    st.uid = [v[0], v[1]];
                    have_uid = true;
                } else {
                    st.gid = [v[0], v[1]];
                    have_gid = true;
                }
            }
            "CapEff" => {
                st.cap_eff = u64::from_str_radix(val.trim(), 16).map_err(|_| bad("not hex"))?;
            }
            "NStgid" => st.vpid = ids()?.last().copied(),
            "NSpid" => st.vtid = ids()?.last().copied(),
            _ => {}
        }
    }
    let missing = [("PPid", have_ppid), ("Uid", have_uid), ("Gid", have_gid)]
        .into_iter()
        .find(|(_, have)| !have);
    match missing {
        Some((key, _)) => Err(ProcfsError::parse(
            text.lines().count().max(1),
            1,
            format!("no {key} line"),
        )),
        None => Ok(st),
    }
}

/// Splits `/proc/PID/cmdline` on NUL (one trailing NUL is the terminator).
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Parses `/proc/PID/loginuid`; unset (`4294967295`) and unreadable values
/// are `u32::MAX`.
pub fn parse_loginuid(text: &str) -> u32 {
    text.trim().parse().unwrap_or(u32::MAX)
}

/// `(hierarchy id, controllers, path)` of each `/proc/PID/cgroup` line.
fn cgroup_lines(text: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    text.lines().filter_map(|l| {
        let (id, rest) = l.split_once(':')?;
        let (ctrl, path) = rest.split_once(':')?;
        Some((id, ctrl, path))
    })
}

/// The cgroup path of `/proc/PID/cgroup`: the v2 `0::/path` line, else
/// (v1-only hosts) the `name=systemd` line, else the first line; empty when
/// there is none.
pub fn parse_cgroup(text: &str) -> String {
    let mut fallback = None;
    for (id, ctrl, path) in cgroup_lines(text) {
        if id == "0" && ctrl.is_empty() {
            return path.to_string();
        }
        if ctrl == "name=systemd" || fallback.is_none() {
            fallback = Some(path);
        }
    }
    fallback.unwrap_or("").to_string()
}

/// The container id (first 12 hex chars, like sysdig) found in any path of
/// `/proc/PID/cgroup`; empty on the host. Recognizes a path component that
/// is 64 hex chars (`/docker/<id>`, kubepods cgroupfs) or
/// `<runtime>-<64 hex>.scope` (docker, cri-containerd, crio, libpod...);
/// conmon scopes are the runtime's monitor, not the container.
pub fn container_id(cgroup_text: &str) -> String {
    let mut lines: Vec<_> = cgroup_lines(cgroup_text).collect();
    // The v2 line first: it is the authoritative one when present.
    lines.sort_by_key(|(id, _, _)| *id != "0");
    for (_, _, path) in lines {
        for comp in path.rsplit('/') {
            if let Some(id) = container_id_of_component(comp) {
                return id[..12].to_string();
            }
        }
    }
    String::new()
}

/// The 64-hex id in one cgroup path component, if it names a container.
fn container_id_of_component(comp: &str) -> Option<&str> {
    let is_id = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_id(comp) {
        return Some(comp);
    }
    let stem = comp.strip_suffix(".scope")?;
    let (prefix, id) = stem.rsplit_once('-')?;
    (is_id(id) && !prefix.contains("conmon") && !prefix.is_empty()).then_some(id)
}

/// Converts `/proc/PID/stat` start ticks to ns (CLOCK_BOOTTIME based).
pub fn ticks_to_ns(ticks: u64, hz: u64) -> u64 {
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(hz.max(1));
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// Numeric entries of a directory, sorted (pids in `/proc`, tids in `task`,
/// fds in `fd`).
pub(crate) fn numeric_entries(dir: &Path) -> Result<Vec<u32>, ProcfsError> {
    let rd = std::fs::read_dir(dir).map_err(|source| ProcfsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<u32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Process-wide data shared by all threads of a process.
#[derive(Default)]
struct ProcessData {
    exe: String,
    args: Vec<String>,
    cwd: String,
    loginuid: u32,
    cgroup: String,
    container_id: String,
}

/// Reads process-wide data best-effort: kernel threads have no exe, and a
/// non-root caller cannot read other users' links; both leave fields empty.
fn read_process(dir: &Path) -> ProcessData {
    let cgroup_text = read_text(&dir.join("cgroup"), SMALL_CAP).unwrap_or_default();
    ProcessData {
        exe: read_link(&dir.join("exe")).unwrap_or_default(),
        args: parse_cmdline(&read_capped(&dir.join("cmdline"), CMDLINE_CAP).unwrap_or_default()),
        cwd: read_link(&dir.join("cwd")).unwrap_or_default(),
        loginuid: parse_loginuid(&read_text(&dir.join("loginuid"), SMALL_CAP).unwrap_or_default()),
        cgroup: parse_cgroup(&cgroup_text),
        container_id: container_id(&cgroup_text),
    }
}

/// Reads one thread's stat and status into a [`ProcInfo`].
fn read_thread(
    task_dir: &Path,
    pid: u32,
    tid: u32,
    hz: u64,
    pd: &ProcessData,
) -> Result<ProcInfo, ProcfsError> {
    let stat_path = task_dir.join("stat");
    let stat_text = read_text(&stat_path, SMALL_CAP)?;
    let stat = parse_stat(&stat_text).map_err(|e| e.in_file(&stat_path))?;
    let status_path = task_dir.join("status");
    let status_text = read_text(&status_path, SMALL_CAP)?;
    let status = parse_status(&status_text).map_err(|e| e.in_file(&status_path))?;
    Ok(ProcInfo {
        tid,
        pid,
        ppid: status.ppid,
        vpid: status.vpid.unwrap_or(pid),
        vtid: status.vtid.unwrap_or(tid),
        comm: stat.comm,
        exe: pd.exe.clone(),
        args: pd.args.clone(),
        cwd: pd.cwd.clone(),
        uid: status.uid[0],
        euid: status.uid[1],
        gid: status.gid[0],
        egid: status.gid[1],
        loginuid: pd.loginuid,
        tty: stat.tty_nr as u32,
        sid: stat.session as u32,
        pgid: stat.pgrp as u32,
        start_time_ns: ticks_to_ns(stat.start_ticks, hz),
        cgroup: pd.cgroup.clone(),
        container_id: pd.container_id.clone(),
        cap_effective: status.cap_eff,
        fds: Vec::new(),
    })
}

/// Walks `proc_root`: one [`ProcInfo`] per accepted thread, fds on leaders.
pub(crate) fn walk(
    opts: &SnapshotOptions,
    hz: u64,
    sockets: &mut SocketTables,
    stats: &mut SnapshotStats,
) -> Result<Vec<ProcInfo>, ProcfsError> {
    let accept = |pid: u32, tid: u32| opts.filter.as_ref().is_none_or(|f| f(pid, tid));
    let mut out = Vec::new();
    for pid in numeric_entries(&opts.proc_root)? {
        let dir = opts.proc_root.join(pid.to_string());
        let tids = match numeric_entries(&dir.join("task")) {
            Ok(t) => t,
            Err(e) => {
                stats.warn(e);
                continue;
            }
        };
        let tids: Vec<u32> = tids.into_iter().filter(|&t| accept(pid, t)).collect();
        if tids.is_empty() {
            continue;
        }
        let pd = read_process(&dir);
        let first = out.len();
        for tid in tids {
            let task_dir = dir.join("task").join(tid.to_string());
            match read_thread(&task_dir, pid, tid, hz, &pd) {
                Ok(info) => out.push(info),
                Err(e) => stats.warn(e),
            }
        }
        if out.len() == first {
            continue;
        }
        stats.processes += 1;
        stats.threads += out.len() - first;
        if opts.include_fds {
            if let Some(leader) = out[first..].iter_mut().find(|p| p.tid == pid) {
                leader.fds = fds::read_fds(&dir, sockets, stats);
                stats.fds += leader.fds.len();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT_NASTY: &str = "4242 (a) (b) c)) S 1 4240 4239 34817 4240 4194560 120 0 0 0 \
        1 2 0 0 20 0 3 0 987654 1234567 300 18446744073709551615 1 1 0 0 0 0 0 \
        4096 0 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_with_parens_and_spaces_in_comm() {
        let s = parse_stat(STAT_NASTY).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, "a) (b) c)");
        assert_eq!(s.state, 'S');
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.tty_nr),
            (1, 4240, 4239, 34817)
        );
        assert_eq!(s.start_ticks, 987654);
    }

    #[test]
    fn stat_kernel_thread_and_errors() {
        let k = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 \
                 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 1 0 0 0 0 0";
        let s = parse_stat(k).unwrap();
        assert_eq!(
            (s.pid, s.comm.as_str(), s.ppid, s.tty_nr),
            (2, "kthreadd", 0, 0)
        );
        assert!(s.is_kernel_thread());
        assert_eq!(s.processor, Some(1));
        assert!(parse_stat("").is_err());
        assert!(parse_stat("12 (x").is_err());
        let e = parse_stat("12 (x) S 1 2 3").unwrap_err();
        assert!(e.to_string().contains("ends before field 7"), "{e}");
        let e = parse_stat("12 (x) S 1 2 zz 4 5").unwrap_err();
        assert!(
            e.to_string().contains(":1:14: bad stat field 6: \"zz\""),
            "{e}"
        );
    }

    const STATUS: &str = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t731\n\
        Ngid:\t0\nPid:\t735\nPPid:\t700\nTracerPid:\t0\nUid:\t1000\t1001\t1000\t1000\n\
        Gid:\t100\t101\t100\t100\nFDSize:\t256\nNStgid:\t731\t1\nNSpid:\t735\t5\n\
        NSpgid:\t731\t1\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
        CapEff:\t000001ffffffffff\n";

    #[test]
    fn status_fields() {
        let s = parse_status(STATUS).unwrap();
        assert_eq!(s.ppid, 700);
        assert_eq!(s.uid, [1000, 1001]);
        assert_eq!(s.gid, [100, 101]);
        assert_eq!(s.cap_eff, 0x1ff_ffff_ffff);
        assert_eq!((s.vpid, s.vtid), (Some(1), Some(5)));
        let e = parse_status("PPid:\t1\nUid:\t0\t0\t0\t0\n").unwrap_err();
        assert!(e.to_string().contains("no Gid line"), "{e}");
        let e = parse_status("PPid:\t1\nUid:\t0\tx\n").unwrap_err();
        assert!(e.to_string().contains(":2:5: bad Uid value"), "{e}");
        assert!(parse_status("PPid:\t1\nUid:\t0\nGid:\t0\t0\n").is_err());
    }

    #[test]
    fn cmdline_and_loginuid() {
        assert_eq!(
            parse_cmdline(b"ls\0-l\0/tmp dir\0"),
            ["ls", "-l", "/tmp dir"]
        );
        assert_eq!(
            parse_cmdline(b"nginx: worker process"),
            ["nginx: worker process"]
        );
        assert_eq!(parse_cmdline(b"a\0\0b\0"), ["a", "", "b"]);
        assert!(parse_cmdline(b"").is_empty());
        assert_eq!(parse_loginuid("4294967295"), u32::MAX);
        assert_eq!(parse_loginuid("1000\n"), 1000);
        assert_eq!(parse_loginuid("junk"), u32::MAX);
    }

    const ID: &str = "3f2a9c1b7d5e4f60a1b2c3d4e5f60718293a4b5c6d7e8f901a2b3c4d5e6f7081";

    #[test]
    fn cgroup_and_container_ids() {
        let host = "0::/user.slice/user-1000.slice/session-2.scope\n";
        assert_eq!(
            parse_cgroup(host),
            "/user.slice/user-1000.slice/session-2.scope"
        );
        assert_eq!(container_id(host), "");
        let cases = [
            format!("0::/system.slice/docker-{ID}.scope\n"),
            format!("0::/docker/{ID}\n"),
            format!(
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e_3d4c.slice/cri-containerd-{ID}.scope\n"
            ),
            format!("0::/kubepods.slice/kubepods-pod12.slice/crio-{ID}.scope\n"),
            format!("0::/machine.slice/libpod-{ID}.scope/container\n"),
            format!("0::/kubepods/besteffort/pod0b4f0e2a-1234/{ID}\n"),
            format!("12:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"),
        ];
        for c in &cases {
            assert_eq!(container_id(c), &ID[..12], "{c}");
        }
        // conmon runs on the host side of podman/crio.
        assert_eq!(
            container_id(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n")),
            ""
        );
        // Too short, or not hex.
        assert_eq!(container_id("0::/docker/abc123\n"), "");
        assert_eq!(container_id(&format!("0::/x/{}\n", "g".repeat(64))), "");
        // v1-only host: name=systemd is the path.
        let v1 = "4:memory:/process_api/9b99\n1:name=systemd:/init.scope\n";
        assert_eq!(parse_cgroup(v1), "/init.scope");
        assert_eq!(parse_cgroup("garbage"), "");
    }

    #[test]
    fn ticks() {
        assert_eq!(ticks_to_ns(250, 100), 2_500_000_000);
        assert_eq!(ticks_to_ns(u64::MAX, 1), u64::MAX);
        assert_eq!(ticks_to_ns(7, 0), 7_000_000_000);
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*", b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_stat(&s);
            let _ = parse_status(&s);
            let _ = parse_cgroup(&s);
            let _ = container_id(&s);
            let _ = parse_cmdline(&b);
        }

        #[test]
        fn stat_comm_round_trips(comm in "[ -~]{0,20}", ppid in 0u32..1_000_000) {
            let text = format!("77 ({comm}) R {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0 0");
            let st = parse_stat(&text).unwrap();
            proptest::prop_assert_eq!(st.comm, comm);
            proptest::prop_assert_eq!((st.ppid, st.start_ticks), (ppid, 42));
        }
    }
}
