//! Test harness: run the real binary, build the workload, gate BPF tests.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The saker binary under test.
pub fn saker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_saker"))
}

/// Runs saker with args; returns the output.
pub fn run(args: &[&str]) -> Output {
    output(saker().args(args))
}

/// How long one command of a test may run (`SAKER_TEST_TIMEOUT` seconds,
/// default 300): a hang fails its test, with the threads' kernel stacks,
/// instead of stalling the whole suite.
fn command_limit() -> Duration {
    let secs = std::env::var("SAKER_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// `cmd.output()` with the [`command_limit`]: past it, the process is
/// described (each thread's state, wchan, syscall and kernel stack), killed,
/// and the test panics with that description and the stderr so far.
pub fn output(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let status = match wait_within(&mut child) {
        Ok(st) => st,
        Err(about) => {
            let err = err.join().unwrap_or_default();
            panic!(
                "{cmd:?} still running after {:?}; killed.\n{about}\nstderr:\n{}",
                command_limit(),
                String::from_utf8_lossy(&err)
            )
        }
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Waits for a spawned child within the [`command_limit`]; past it, panics
/// with the child's threads described (it is killed first).
pub fn wait_child(child: &mut std::process::Child) -> std::process::ExitStatus {
    wait_within(child).unwrap_or_else(|about| {
        panic!(
            "child {} still running after {:?}; killed.\n{about}",
            child.id(),
            command_limit()
        )
    })
}

/// The child's exit status within the [`command_limit`], or (after killing
/// it) the description of its threads when it was still running.
fn wait_within(child: &mut std::process::Child) -> Result<std::process::ExitStatus, String> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("waiting for a child") {
            return Ok(st);
        }
        if start.elapsed() > command_limit() {
            let about = describe_process(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Err(about);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each thread of `pid`: name, state, wchan, syscall and kernel stack (the
/// stack needs root), for the message of a hung command.
fn describe_process(pid: u32) -> String {
    let mut s = String::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
    for t in tasks.into_iter().flatten().flatten() {
        let p = t.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
        let state = read("status")
            .lines()
            .filter(|l| l.starts_with("Name:") || l.starts_with("State:"))
            .collect::<Vec<_>>()
            .join(" ");
        s += &format!(
            "task {}: {state} wchan={} syscall={}\n{}",
            t.file_name().to_string_lossy(),
            read("wchan"),
            read("syscall").trim(),
            read("stack")
        );
    }
    s
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

static BPF_LOCK: Mutex<()> = Mutex::new(());

/// Serializes BPF tests and says whether they can run. Outside CI a
/// machine without root or BTF skips them (saying why); in CI they must run.
pub fn bpf_guard(test: &str) -> Option<MutexGuard<'static, ()>> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    if !(root && btf) {
        let why = if root {
            "no /sys/kernel/btf/vmlinux"
        } else {
            "not running as root"
        };
        if std::env::var_os("CI").is_some() {
            panic!("{test}: BPF tests must run in CI, but {why}");
        }
        eprintln!("SKIP {test}: {why} (BPF tests need root and BTF)");
        return None;
    }
    Some(BPF_LOCK.lock().unwrap_or_else(|e| e.into_inner()))
}

/// A program of tests/workload/, compiled once with the system C compiler.
pub fn c_program(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(n, _)| n == name) {
        return p.clone();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/workload/{name}.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("saker-{name}"));
    let st = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("running cc");
    assert!(st.success(), "compiling {}", src.display());
    built.push((name.to_string(), out.clone()));
    out
}

/// The exact-syscalls workload.
pub fn workload() -> PathBuf {
    c_program("workload")
}

/// A fresh temporary directory.
pub fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("saker-test")
        .tempdir()
        .expect("tempdir")
}

/// Waits (up to 60 s, so a loaded machine does not fail the test) until
/// `path` exists and holds at least `bytes` bytes; false on timeout.
pub fn wait_for_file(path: &Path, bytes: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if std::fs::metadata(path).is_ok_and(|m| m.len() >= bytes) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `saker record -q --only-cmd -w CAP -- CMD...`: records one command's tree.
pub fn record_cmd(cap: &Path, cmd: &[&str]) -> Output {
    let cap = cap.to_str().expect("test paths are UTF-8");
    let mut args = vec!["record", "-q", "--only-cmd", "-w", cap, "--"];
    args.extend_from_slice(cmd);
    run(&args)
}

/// Runs tmux on a server of the session's own (`-L NAME`, the session
/// named after `-s`/`-t`), so parallel tests never share a server.
pub fn tmux(args: &[&str]) -> String {
    let name = args
        .windows(2)
        .find(|w| w[0] == "-s" || w[0] == "-t")
        .map_or("saker-test", |w| w[1]);
    let o = Command::new("tmux")
        .args(["-L", name])
        .args(args)
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether tmux runs here; under CI it must (.ci/setup.sh installs it).
pub fn tmux_ok() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is installed by .ci/setup.sh"
        );
        return false;
    }
    true
}

/// A detached 120x40 tmux session `name` running `cmd`.
pub fn tmux_session(name: &str, cmd: &str) {
    tmux(&[
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        "120",
        "-y",
        "40",
        cmd,
    ]);
}

/// The pane's screen once it shows `text` (or after `secs`).
pub fn wait_long(session: &str, text: &str, secs: u64) -> String {
    wait_all(session, &[text], secs)
}

/// The screen of tmux `session` once it shows every one of `texts` (or
/// after `secs` seconds, whatever it shows then).
pub fn wait_all(session: &str, texts: &[&str], secs: u64) -> String {
    wait_until(session, secs, |screen| {
        texts.iter().all(|t| screen.contains(t))
    })
}

/// The pane's screen once `done` holds for it, or after `secs` seconds.
pub fn wait_until(session: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if done(&screen) || start.elapsed() > Duration::from_secs(secs) {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether python3 with pyarrow and duckdb runs here; under CI it must
/// (.ci/setup.sh installs them).
pub fn pyarrow_duckdb_ok() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import pyarrow, duckdb"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "pyarrow and duckdb are installed by .ci/setup.sh"
        );
        return false;
    }
    true
}

/// A light background load (a shell running `cat` 20 times a second),
/// killed when dropped, even by a failing test. System-wide recordings
/// stopped by `-n` or rotated by `-G` need events; an idle CI machine
/// may make none for minutes.
pub struct Load(std::process::Child);

impl Load {
    /// Starts the light load.
    pub fn start() -> Load {
        Load::run("while :; do cat /etc/hostname >/dev/null; sleep 0.05; done")
    }

    /// Starts a busy load: `cat` as fast as the shell can fork.
    pub fn busy() -> Load {
        Load::run("while :; do cat /etc/hostname >/dev/null; done")
    }

    fn run(script: &str) -> Load {
        let child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the load shell");
        Load(child)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
