//! Test harness: run the real binary, build the workload, gate BPF tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The saker binary under test.
pub fn saker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_saker"))
}

/// Runs saker with args; returns the output.
pub fn run(args: &[&str]) -> Output {
    saker().args(args).output().expect("running saker")
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
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(60) {
        if std::fs::metadata(path).is_ok_and(|m| m.len() >= bytes) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
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
    let start = std::time::Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(text) || start.elapsed() > std::time::Duration::from_secs(secs) {
            return screen;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
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
