//! The syscall table of the running kernel: numbers from the kernel's UAPI
//! tables (the embedded default table plus `event/data/unistd_64_extra.txt`
//! for syscalls newer than the headers), argument names and C types from the
//! kernel's own tracefs metadata, read live when recording starts.

use std::path::Path;

use super::RecordError;
use crate::event::meta::SyscallTable;
use crate::event::table::{build_table, Syscalls};
use crate::event::tracefs::{parse_format, TracefsFormat};

const TRACEFS: &[&str] = &["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
const EXTRA: &str = include_str!("../event/data/unistd_64_extra.txt");

/// Mounts tracefs at /sys/kernel/tracing if no tracefs is reachable.
fn tracefs_root() -> Result<&'static Path, RecordError> {
    for root in TRACEFS {
        if Path::new(root).join("events/syscalls").is_dir() {
            return Ok(Path::new(root));
        }
    }
    let target = c"/sys/kernel/tracing";
    // SAFETY: all pointers are valid NUL-terminated strings; data is null.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 && Path::new(TRACEFS[0]).join("events/syscalls").is_dir() {
        return Ok(Path::new(TRACEFS[0]));
    }
    Err(RecordError::Table(format!(
        "no tracefs with syscall events (tried {}; mounting failed: {})",
        TRACEFS.join(", "),
        std::io::Error::last_os_error()
    )))
}

/// Reads every `sys_enter_*/format` file of tracefs.
fn read_formats(root: &Path) -> Result<Vec<TracefsFormat>, RecordError> {
    let dir = root.join("events/syscalls");
    let rd = std::fs::read_dir(&dir).map_err(|e| RecordError::Io {
        what: format!("listing {}", dir.display()),
        source: e,
    })?;
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with("sys_enter_") {
            continue;
        }
        let path = ent.path().join("format");
        let text = std::fs::read_to_string(&path).map_err(|e| RecordError::Io {
            what: format!("reading {}", path.display()),
            source: e,
        })?;
        let f = parse_format(&path.display().to_string(), &text)
            .map_err(|e| RecordError::Table(e.to_string()))?;
        out.push(f);
    }
    Ok(out)
}

/// `<nr> <name>` lines; `#` starts a comment.
fn parse_extra(text: &str) -> Vec<(u16, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.parse().ok()?, it.next()?.to_string()))
        })
        .collect()
}

/// `(number, name)` pairs of one ABI.
type Numbered = Vec<(u16, String)>;

/// Native and compat `(number, name)` lists: the embedded UAPI tables plus
/// the newer syscalls of `unistd_64_extra.txt`.
fn numbers() -> (Numbered, Numbered) {
    let base = Syscalls::default_x86_64().table();
    let mut native: Vec<(u16, String)> = base
        .syscalls
        .iter()
        .filter(|d| !d.compat)
        .map(|d| (d.nr, d.name.to_string()))
        .collect();
    for (nr, name) in parse_extra(EXTRA) {
        if !native.iter().any(|(n, _)| *n == nr) {
            native.push((nr, name));
        }
    }
    let mut compat: Vec<(u16, String)> = base
        .syscalls
        .iter()
        .filter(|d| d.compat)
        .map(|d| (d.nr, d.name.to_string()))
        .collect();
    // ia32 numbers from 403 on follow the common table (shared with every arch).
    for (nr, name) in native.iter().filter(|(nr, _)| *nr >= 424) {
        if !compat.iter().any(|(n, _)| n == nr) {
            compat.push((*nr, name.clone()));
        }
    }
    (native, compat)
}

/// Builds the table of the running kernel.
pub fn live_table() -> Result<SyscallTable, RecordError> {
    let root = tracefs_root()?;
    let formats = read_formats(root)?;
    let (native, compat) = numbers();
    let mut t = build_table(&native, &compat, &formats);
    t.source = format!(
        "live: tracefs of {} + kernel UAPI numbers; {}",
        root.display(),
        t.source
    )
    .into();
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_numbers_parse() {
        let v = parse_extra(EXTRA);
        assert!(v.contains(&(462, "mseal".to_string())));
        assert!(v.iter().all(|(nr, _)| *nr < 512));
    }

    /// The live tracefs lists a format for every syscall of this kernel;
    /// each must get a number, and each must end up in the live table with
    /// its argument schema. Needs root (tracefs, mounted here as the
    /// recorder mounts it when a fresh machine has none).
    #[test]
    fn live_table_numbers_every_tracefs_format() {
        let root = match tracefs_root() {
            Ok(r) => r,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI runs as root and must see tracefs: {e}"
                );
                eprintln!("skipped: no readable tracefs (not root?): {e}");
                return;
            }
        };
        let listed = std::fs::read_dir(root.join("events/syscalls"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("sys_enter_"))
            .count();
        let formats = read_formats(root).unwrap();
        assert_eq!(formats.len(), listed);
        assert!(listed > 300, "only {listed} sys_enter formats");
        let (native, _) = numbers();
        let missing = crate::event::table::unnumbered_formats(&native, &formats);
        assert!(missing.is_empty(), "no number for {missing:?}");
        let t = live_table().unwrap();
        let with_schema = t
            .syscalls
            .iter()
            .filter(|d| !d.compat && !d.args.is_empty())
            .count();
        let zero_arg = formats.iter().filter(|f| f.args.is_empty()).count();
        assert!(
            with_schema + zero_arg >= listed,
            "{with_schema} schemas + {zero_arg} without args < {listed} formats"
        );
    }
}
