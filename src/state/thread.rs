//! Threads and processes (thread groups): identity, credentials, image and
//! session details, and the ids of the shared fd table and fs info.

use std::sync::Arc;

use crate::event::meta::ProcInfo;

/// `loginuid` value meaning "unset".
pub const LOGINUID_UNSET: u32 = u32::MAX;
/// Longest comm kept (`TASK_COMM_LEN - 1`).
pub const COMM_CAP: usize = 15;
/// Most argv entries kept.
pub const ARGV_CAP: usize = 4096;

/// One thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Thread id.
    pub tid: u32,
    /// Thread group id.
    pub pid: u32,
    /// tid in its own pid namespace (0 when unknown).
    pub vtid: u32,
    /// `comm` (≤ 15 bytes).
    pub comm: Arc<str>,
    /// Creation time, CLOCK_BOOTTIME ns (0 when unknown).
    pub start_ts: u64,
    /// Created from defaults at its first event (it was in neither the snapshot nor a fork).
    pub lazy: bool,
    /// `task->exit_code` once an EXIT record was seen; the thread is removed
    /// at the next applied event.
    pub exit_code: Option<i64>,
    /// An EXEC record was applied and its execve/execveat exit is still to come.
    pub(crate) exec_seen: bool,
}

/// Credentials of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Creds {
    /// Real uid.
    pub uid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Saved uid.
    pub suid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Saved gid.
    pub sgid: u32,
    /// Audit login uid ([`LOGINUID_UNSET`] when unset).
    pub loginuid: u32,
}

/// One process (thread group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Thread group id.
    pub pid: u32,
    /// Parent's thread group id (0 when unknown).
    pub ppid: u32,
    /// pid in its own namespace (0 when unknown).
    pub vpid: u32,
    /// argv (argv[0] is `proc.exe`).
    pub argv: Arc<[Arc<str>]>,
    /// Resolved executable path (`proc.exepath`).
    pub exepath: Arc<str>,
    /// cgroup v2 path.
    pub cgroup: Arc<str>,
    /// Container id (12 hex chars), empty on the host.
    pub container_id: Arc<str>,
    /// Credentials.
    pub creds: Creds,
    /// Controlling tty (stat field 7; 0 none).
    pub tty: u32,
    /// Session id.
    pub sid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Start time, CLOCK_BOOTTIME ns.
    pub start_ts: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Exe flags (`wire::exec::EXE_*` bits).
    pub exe_flags: u64,
    /// Set by `prctl(PR_SET_CHILD_SUBREAPER)`.
    pub child_subreaper: bool,
    /// Live threads known in the group.
    pub nthreads: u32,
    /// Created from defaults at its first event.
    pub lazy: bool,
    /// Exit status once the whole group exited (removed at the next event).
    pub exit_status: Option<i64>,
    /// Shared fd table id.
    pub(crate) files: u64,
    /// Shared fs info (cwd) id.
    pub(crate) fs: u64,
}

impl Process {
    /// `proc.exe`: argv[0], or empty.
    pub fn exe(&self) -> &str {
        self.argv.first().map_or("", |a| a)
    }
    /// `proc.args`: argv without argv[0].
    pub fn args(&self) -> &[Arc<str>] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// A process built from defaults (lazy creation).
    pub(crate) fn lazy(pid: u32, files: u64, fs: u64) -> Self {
        Process {
            pid,
            ppid: 0,
            vpid: 0,
            argv: Arc::new([]),
            exepath: "".into(),
            cgroup: "".into(),
            container_id: "".into(),
            creds: Creds {
                loginuid: LOGINUID_UNSET,
                ..Creds::default()
            },
            tty: 0,
            sid: 0,
            pgid: 0,
            start_ts: 0,
            cap_effective: 0,
            exe_flags: 0,
            child_subreaper: false,
            nthreads: 0,
            lazy: true,
            exit_status: None,
            files,
            fs,
        }
    }

    /// A process from its snapshot entry.
    pub(crate) fn from_info(p: &ProcInfo, files: u64, fs: u64) -> Self {
        let argv: Vec<Arc<str>> = p
            .args
            .iter()
            .take(ARGV_CAP)
            .map(|a| Arc::from(a.as_str()))
            .collect();
        Process {
            pid: p.pid,
            ppid: p.ppid,
            vpid: p.vpid,
            argv: argv.into(),
            exepath: p.exe.as_str().into(),
            cgroup: p.cgroup.as_str().into(),
            container_id: p.container_id.as_str().into(),
            creds: Creds {
                uid: p.uid,
                euid: p.euid,
                suid: p.euid,
                gid: p.gid,
                egid: p.egid,
                sgid: p.egid,
                loginuid: p.loginuid,
            },
            tty: p.tty,
            sid: p.sid,
            pgid: p.pgid,
            start_ts: p.start_time_ns,
            cap_effective: p.cap_effective,
            exe_flags: 0,
            child_subreaper: false,
            nthreads: 0,
            lazy: false,
            exit_status: None,
            files,
            fs,
        }
    }
}

impl Thread {
    /// A thread built from defaults (lazy creation).
    pub(crate) fn lazy(tid: u32, pid: u32) -> Self {
        Thread {
            tid,
            pid,
            vtid: 0,
            comm: "".into(),
            start_ts: 0,
            lazy: true,
            exit_code: None,
            exec_seen: false,
        }
    }
    /// A thread from its snapshot entry.
    pub(crate) fn from_info(p: &ProcInfo) -> Self {
        Thread {
            tid: p.tid,
            pid: p.pid,
            vtid: p.vtid,
            comm: comm(p.comm.as_bytes()),
            start_ts: p.start_time_ns,
            lazy: false,
            exit_code: None,
            exec_seen: false,
        }
    }
}

/// A comm from raw bytes: cut at NUL and at [`COMM_CAP`] bytes.
pub fn comm(raw: &[u8]) -> Arc<str> {
    let end = raw
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(raw.len())
        .min(COMM_CAP);
    String::from_utf8_lossy(&raw[..end]).as_ref().into()
}

/// Splits an Argv param into at most [`ARGV_CAP`] strings.
pub fn split_argv(data: &[u8]) -> Arc<[Arc<str>]> {
    let data = data.strip_suffix(&[0]).unwrap_or(data);
    if data.is_empty() {
        return Arc::new([]);
    }
    data.split(|&c| c == 0)
        .take(ARGV_CAP)
        .map(|a| Arc::from(String::from_utf8_lossy(a).as_ref()))
        .collect::<Vec<_>>()
        .into()
}

/// Extracts a container id from a cgroup path: the first run of 64 hex
/// chars in a component (`docker-<id>.scope`, `/docker/<id>`,
/// `cri-containerd-<id>.scope`, `crio-<id>`, `libpod-<id>`), shortened to 12.
pub fn container_id(cgroup: &str) -> Arc<str> {
    for comp in cgroup.split('/') {
        let b = comp.as_bytes();
        let mut run = 0usize;
        for (i, c) in b.iter().enumerate() {
            if c.is_ascii_hexdigit() {
                run += 1;
                if run == 64 && b.get(i + 1).is_none_or(|n| !n.is_ascii_hexdigit()) {
                    let start = i + 1 - 64;
                    return comp[start..start + 12].into();
                }
            } else {
                run = 0;
            }
        }
    }
    "".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(
            &*container_id(&format!("/system.slice/docker-{id}.scope")),
            "0123456789ab"
        );
        assert_eq!(
            &*container_id(&format!("/kubepods/burstable/pod1/{id}")),
            "0123456789ab"
        );
        assert_eq!(
            &*container_id("/user.slice/user-1000.slice/session-2.scope"),
            ""
        );
        assert_eq!(&*container_id(&format!("/x/{id}0")), "");
    }

    #[test]
    fn argv_and_comm() {
        let a = split_argv(b"ls\0-l\0\0x\0");
        assert_eq!(
            a.iter().map(|s| &**s).collect::<Vec<_>>(),
            vec!["ls", "-l", "", "x"]
        );
        assert!(split_argv(b"").is_empty());
        assert_eq!(&*comm(b"a-very-long-command-name"), "a-very-long-com");
        assert_eq!(&*comm(b"sh\0junk"), "sh");
    }
}
