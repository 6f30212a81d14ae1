//! Syscall tables: joining syscall numbers to tracefs argument schemas
//! ([`build_table`]), parsing the kernel's UAPI `unistd_*.h` headers, the
//! [`Syscalls`] lookup by event code or name, and the default x86_64 table
//! embedded in the binary for captures that carry none.
//!
//! # Table names vs. tracefs names
//!
//! tracefs names its events after the syscall *entry point* (`sys_X`), while
//! numbers are named after the syscall table entry (`syscall_64.tbl`). Where
//! the two differ, the kernel follows three conventions, which
//! [`build_table`] tries in order after the exact name:
//!
//! 1. a `new` prefix for an entry point whose struct layout was revised
//!    (`stat` -> `sys_newstat`, `fstat`, `lstat`, `uname` -> `sys_newuname`,
//!    ia32 `fstatat64` -> `sys_newfstatat`);
//! 2. a `64` suffix for the 64-bit-offset variant (`sendfile` -> `sys_sendfile64`);
//! 3. the table name carries a version or width suffix the entry point lacks
//!    (`umount2` -> `sys_umount`, ia32 `chown32` -> `sys_chown`,
//!    `fadvise64_64` -> `sys_fadvise64`, `clock_gettime64` and the other
//!    ia32 `*_time64` calls -> the native entry, `_newselect` -> `sys_select`).
//!
//! Compat (ia32) entries borrow the native schema of the resolved name; their
//! 64-bit arguments are split over two registers there, so scalar positions
//! after such an argument are approximate. Three ia32 names point at legacy
//! entry points with different arguments (`mmap` -> `sys_old_mmap`,
//! `select` -> `sys_old_select`, `umount` -> `sys_oldumount`) and get no schema.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use super::classify::classify;
use super::display::Described;
use super::meta::{SyscallDesc, SyscallTable};
use super::plan::SyscallPlan;
use super::tracefs::TracefsFormat;
use super::wire::{CODE_COMPAT_BASE, CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK, CODE_SPECIAL};

/// Errors validating a syscall table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// A syscall number does not fit its event-code range.
    #[error("syscall {name:?} (entry {index}): number {nr} is not below 512")]
    BadNumber {
        /// Syscall name.
        name: String,
        /// Position in the table.
        index: usize,
        /// The number found.
        nr: u16,
    },
    /// Two entries share a number.
    #[error("syscall {name:?} (entry {index}): number {nr} already used by {other:?}")]
    Duplicate {
        /// Syscall name.
        name: String,
        /// Position in the table.
        index: usize,
        /// The number.
        nr: u16,
        /// Name of the earlier entry.
        other: String,
    },
}

/// Number of codes per ABI.
const ABI_CODES: usize = CODE_COMPAT_BASE as usize;

/// Event code of a syscall: `nr`, or `512 + nr` for compat.
pub fn code_of(desc: &SyscallDesc) -> u16 {
    if desc.compat {
        CODE_COMPAT_BASE + desc.nr
    } else {
        desc.nr
    }
}

/// Fast lookup over a [`SyscallTable`].
#[derive(Debug, Clone)]
pub struct Syscalls {
    table: SyscallTable,
    /// Index into `table.syscalls` by event code (native then compat).
    by_code: Vec<Option<u32>>,
    /// Every code, ordered by name, then table order (native first): the
    /// codes of one name are a run of it.
    by_name: Cow<'static, [u16]>,
    /// The display plan of each entry of `table.syscalls`, made when first
    /// asked for (a read shows a few dozen syscalls of several hundred).
    plans: Vec<OnceLock<SyscallPlan>>,
}

impl Syscalls {
    /// Indexes `table`, rejecting numbers >= 512 and duplicate numbers.
    pub fn new(table: SyscallTable) -> Result<Self, TableError> {
        Self::indexed(table, None)
    }

    /// [`Syscalls::new`], with the codes by name already known (the
    /// embedded table's, sorted at build time) or not.
    fn indexed(table: SyscallTable, by_name: Option<&'static [u16]>) -> Result<Self, TableError> {
        let mut by_code = vec![None; 2 * ABI_CODES];
        for (index, d) in table.syscalls.iter().enumerate() {
            if d.nr as usize >= ABI_CODES {
                return Err(TableError::BadNumber {
                    name: d.name.to_string(),
                    index,
                    nr: d.nr,
                });
            }
            let code = code_of(d);
            let slot = &mut by_code[code as usize];
            if let Some(prev) = *slot {
                let other = table.syscalls[prev as usize].name.to_string();
                return Err(TableError::Duplicate {
                    name: d.name.to_string(),
                    index,
                    nr: d.nr,
                    other,
                });
            }
            *slot = Some(index as u32);
        }
        let by_name = match by_name {
            Some(b) => Cow::Borrowed(b),
            None => {
                // By name, then table order: a name's codes keep table order.
                let mut order: Vec<(&str, usize)> = table
                    .syscalls
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (&*d.name, i))
                    .collect();
                order.sort_unstable();
                Cow::Owned(
                    order
                        .iter()
                        .map(|&(_, i)| code_of(&table.syscalls[i]))
                        .collect(),
                )
            }
        };
        let plans = table.syscalls.iter().map(|_| OnceLock::new()).collect();
        Ok(Syscalls {
            table,
            by_code,
            by_name,
            plans,
        })
    }

    /// The table embedded in the binary (x86_64 + ia32), generated by
    /// `cargo run --example gen_syscalls`.
    pub fn default_x86_64() -> &'static Syscalls {
        static DEFAULT: LazyLock<Syscalls> = LazyLock::new(|| {
            let table = embedded::table();
            Syscalls::indexed(table, Some(embedded::BY_NAME))
                .expect("embedded syscall table is consistent (unit-tested)")
        });
        &DEFAULT
    }

    /// The underlying table.
    pub fn table(&self) -> &SyscallTable {
        &self.table
    }

    /// Entry `index` of the table with its display plan.
    pub fn described(&self, index: usize) -> Option<Described<'_>> {
        let desc = self.table.syscalls.get(index)?;
        let plan = self
            .plans
            .get(index)?
            .get_or_init(|| SyscallPlan::new(desc));
        Some((desc, plan))
    }

    /// The syscall of an event code, if the code is a known syscall.
    pub fn get(&self, code: u16) -> Option<&SyscallDesc> {
        self.table.syscalls.get(self.index_of(code)? as usize)
    }

    /// Index in the table of an event code's syscall, if it is one.
    pub fn index_of(&self, code: u16) -> Option<u32> {
        *self.by_code.get(usize::from(code))?
    }

    /// Event codes of a syscall name (native first, then compat).
    pub fn codes(&self, name: &str) -> &[u16] {
        let name_of = |c: &u16| self.get(*c).map_or("", |d| &*d.name);
        let from = self.by_name.partition_point(|c| name_of(c) < name);
        let len = self.by_name[from..].partition_point(|c| name_of(c) == name);
        &self.by_name[from..from + len]
    }

    /// Display name of an event code: the syscall name, `procfork`,
    /// `procexec`, `procexit`, `drop`, or `syscall_N` / `compat_syscall_N` /
    /// `event_N` when unknown.
    pub fn name(&self, code: u16) -> Cow<'_, str> {
        if let Some(d) = self.get(code) {
            return Cow::Borrowed(&d.name);
        }
        match code {
            CODE_FORK => Cow::Borrowed("procfork"),
            CODE_EXEC => Cow::Borrowed("procexec"),
            CODE_EXIT => Cow::Borrowed("procexit"),
            CODE_DROP => Cow::Borrowed("drop"),
            c if c < CODE_COMPAT_BASE => Cow::Owned(format!("syscall_{c}")),
            c if c < CODE_SPECIAL => Cow::Owned(format!("compat_syscall_{}", c - CODE_COMPAT_BASE)),
            c => Cow::Owned(format!("event_{c}")),
        }
    }
}

/// The default table, generated by `examples/gen_syscalls.rs` as
/// `syscalls_x86_64.json` and turned into constants at build time
/// (`bpf/syscall_table.rs`): a run builds it without parsing JSON.
mod embedded {
    use std::borrow::Cow;

    use crate::event::meta::{ArgDesc, ArgKind, SyscallDesc, SyscallTable};

    include!(concat!(env!("OUT_DIR"), "/syscalls_x86_64.rs"));

    /// The table, borrowing the constants (nothing is allocated).
    pub(super) fn table() -> SyscallTable {
        SyscallTable {
            source: Cow::Borrowed(SOURCE),
            syscalls: Cow::Borrowed(SYSCALLS),
        }
    }
}

/// ia32 table names whose entry points are legacy calls with other arguments.
const COMPAT_LEGACY: [&str; 3] = ["mmap", "select", "umount"];

/// Candidate tracefs names for a table name, most specific first.
fn candidates(name: &str) -> Vec<String> {
    let mut bases = vec![name.to_string()];
    let mut push = |s: &str| {
        if !s.is_empty() && !bases.iter().any(|b| b == s) {
            bases.push(s.to_string());
        }
    };
    if let Some(s) = name.strip_suffix("_time64") {
        push(s);
    }
    let no_digits = name.trim_end_matches(|c: char| c.is_ascii_digit());
    push(no_digits);
    push(no_digits.trim_end_matches('_'));
    if let Some(s) = name.strip_prefix("_new").or_else(|| name.strip_prefix('_')) {
        push(s);
    }
    let mut out = Vec::with_capacity(bases.len() * 3);
    for b in &bases {
        out.push(b.clone());
        out.push(format!("new{b}"));
        out.push(format!("{b}64"));
    }
    out
}

/// Joins syscall numbers (from any source: unistd headers, the kernel's
/// metadata) to tracefs formats and classifies their arguments.
///
/// Numbers without a format get an empty argument list; formats without a
/// number are left out. Entries are sorted by number, native first. The
/// `source` field says how many came from where; callers may replace it.
pub fn build_table(
    nr_names: &[(u16, String)],
    compat_names: &[(u16, String)],
    formats: &[TracefsFormat],
) -> SyscallTable {
    let by_name: HashMap<&str, &TracefsFormat> =
        formats.iter().map(|f| (f.name.as_str(), f)).collect();
    let lookup = |name: &str| {
        candidates(name)
            .into_iter()
            .find_map(|c| by_name.get(c.as_str()).copied())
    };
    let mut syscalls = Vec::with_capacity(nr_names.len() + compat_names.len());
    let mut with_args = 0;
    for (compat, list) in [(false, nr_names), (true, compat_names)] {
        let mut list: Vec<&(u16, String)> = list.iter().collect();
        list.sort_by_key(|(nr, _)| *nr);
        list.dedup_by_key(|(nr, _)| *nr);
        for (nr, name) in list {
            let fmt = if compat && COMPAT_LEGACY.contains(&name.as_str()) {
                None
            } else {
                lookup(name)
            };
            with_args += usize::from(fmt.is_some());
            let args = fmt.map(|f| classify(name, &f.args)).unwrap_or_default();
            syscalls.push(SyscallDesc {
                nr: *nr,
                compat,
                name: name.clone().into(),
                args: args.into(),
            });
        }
    }
    let source = format!(
        "{} native + {} compat numbers, {} tracefs formats, {} syscalls with schemas",
        nr_names.len(),
        compat_names.len(),
        formats.len(),
        with_args
    );
    SyscallTable {
        source: source.into(),
        syscalls: syscalls.into(),
    }
}

/// Names of the tracefs formats that no name of `nr_names` resolves to:
/// syscalls whose numbers must come from another source.
pub fn unnumbered_formats<'a>(
    nr_names: &[(u16, String)],
    formats: &'a [TracefsFormat],
) -> Vec<&'a str> {
    let used: std::collections::HashSet<String> =
        nr_names.iter().flat_map(|(_, n)| candidates(n)).collect();
    let mut out: Vec<&str> = formats
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !used.contains(*n))
        .collect();
    out.sort_unstable();
    out
}

/// Parses the `#define __NR_name N` lines of a kernel-generated UAPI header
/// (`asm/unistd_64.h`, `asm/unistd_32.h`). Other lines, and numbers that do
/// not fit an event code, are ignored.
pub fn x86_64_names_from_unistd(text: &str) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some("#define"), Some(sym), Some(num), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let Some(name) = sym.strip_prefix("__NR_") else {
            continue;
        };
        let Ok(nr) = num.parse::<u16>() else { continue };
        if (nr as usize) < ABI_CODES && !name.is_empty() {
            out.push((nr, name.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::meta::ArgKind;
    use crate::event::tracefs::parse_format;

    fn fmt(name: &str, text: &str) -> TracefsFormat {
        parse_format(name, text).unwrap()
    }

    fn formats() -> Vec<TracefsFormat> {
        vec![
            fmt("newstat", include_str!("testdata/newstat.format")),
            fmt("sendfile64", include_str!("testdata/sendfile64.format")),
            fmt("umount", include_str!("testdata/umount.format")),
            fmt("mmap", include_str!("testdata/mmap.format")),
            fmt("read", include_str!("testdata/read.format")),
            fmt("getppid", include_str!("testdata/getppid.format")),
        ]
    }

    #[test]
    fn parses_unistd() {
        let text = "#ifndef _ASM\n#define _ASM\n\n#define __NR_read 0\n#define __NR_write 1\n\
                    #define __NR_bogus 70000\n#define __NR_x 5 extra\n#endif\n";
        assert_eq!(
            x86_64_names_from_unistd(text),
            [(0, "read".into()), (1, "write".into())]
        );
    }

    #[test]
    fn resolves_entry_point_aliases() {
        let nat = [
            (4, "stat".into()),
            (40, "sendfile".into()),
            (166, "umount2".into()),
            (0, "read".into()),
        ];
        let compat = [
            (195, "stat64".into()),
            (90, "mmap".into()),
            (192, "mmap2".into()),
            (3, "read".into()),
        ];
        let t = build_table(&nat, &compat, &formats());
        let s = Syscalls::new(t).unwrap();
        let stat = s.get(4).unwrap();
        assert_eq!((&*stat.name, stat.args.len()), ("stat", 2));
        assert_eq!(stat.args[0].kind, ArgKind::Str);
        assert_eq!(s.get(40).unwrap().args[1].kind, ArgKind::Fd);
        assert_eq!(s.get(166).unwrap().args[0].name, "name");
        assert_eq!(s.get(512 + 195).unwrap().args.len(), 2);
        assert!(
            s.get(512 + 90).unwrap().args.is_empty(),
            "ia32 mmap is old_mmap"
        );
        assert_eq!(s.get(512 + 192).unwrap().args.len(), 6);
        assert_eq!(s.get(512 + 3).unwrap().args[1].kind, ArgKind::BufOut);
        assert_eq!(s.codes("read"), [0, 515]);
        assert!(s.codes("nosuch").is_empty());
    }

    #[test]
    fn names_of_codes() {
        let t = build_table(&[(0, "read".into())], &[], &formats());
        let s = Syscalls::new(t).unwrap();
        assert_eq!(s.name(0), "read");
        assert_eq!(s.name(7), "syscall_7");
        assert_eq!(s.name(512 + 7), "compat_syscall_7");
        assert_eq!(s.name(CODE_FORK), "procfork");
        assert_eq!(s.name(CODE_EXEC), "procexec");
        assert_eq!(s.name(CODE_EXIT), "procexit");
        assert_eq!(s.name(CODE_DROP), "drop");
        assert_eq!(s.name(2000), "event_2000");
    }

    #[test]
    fn codes_by_name_are_the_entries_in_table_order() {
        let s = Syscalls::default_x86_64();
        for d in s.table().syscalls.iter() {
            let want: Vec<u16> = s
                .table()
                .syscalls
                .iter()
                .filter(|e| e.name == d.name)
                .map(code_of)
                .collect();
            assert_eq!(s.codes(&d.name), want, "{}", d.name);
        }
        assert_eq!(s.codes("open"), [2, CODE_COMPAT_BASE + 5]);
        assert!(s.codes("no_such_call").is_empty() && s.codes("").is_empty());
        // The build script's order is the one computed at run time.
        let computed = Syscalls::new(s.table().clone()).unwrap();
        assert!(matches!(s.by_name, Cow::Borrowed(_)));
        assert_eq!(s.by_name, computed.by_name);
    }

    #[test]
    fn rejects_bad_tables() {
        let d = |nr, name: &str| SyscallDesc {
            nr,
            compat: false,
            name: name.to_string().into(),
            args: Vec::new().into(),
        };
        let t = SyscallTable {
            source: "".into(),
            syscalls: vec![d(1, "a"), d(1, "b")].into(),
        };
        let e = Syscalls::new(t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "syscall \"b\" (entry 1): number 1 already used by \"a\""
        );
        let t = SyscallTable {
            source: "".into(),
            syscalls: vec![d(600, "a")].into(),
        };
        assert!(matches!(
            Syscalls::new(t),
            Err(TableError::BadNumber { nr: 600, .. })
        ));
    }

    /// The constants the build made are the committed JSON, field by field.
    #[test]
    fn embedded_table_is_the_json() {
        let json: SyscallTable =
            serde_json::from_str(include_str!("syscalls_x86_64.json")).expect("valid JSON");
        assert_eq!(Syscalls::default_x86_64().table(), &json);
        assert!(json
            .syscalls
            .iter()
            .any(|d| d.args.iter().any(|a| a.kind == ArgKind::SockaddrOut)));
    }

    #[test]
    fn default_table_is_sane() {
        let s = Syscalls::default_x86_64();
        let code = |n: &str| s.codes(n).first().copied().unwrap();
        assert_eq!(code("read"), 0);
        assert_eq!(code("openat"), 257);
        assert_eq!(s.get(257).unwrap().args[1].kind, ArgKind::Str);
        assert_eq!(s.get(code("stat")).unwrap().args.len(), 2);
        assert_eq!(s.codes("read"), [0, 512 + 3]);
        assert_eq!(s.get(512 + 11).unwrap().name, "execve");
        assert_eq!(s.get(512 + 11).unwrap().args[1].kind, ArgKind::Argv);
        assert!(s.table().source.contains("unistd"), "{}", s.table().source);
        assert!(s.table().syscalls.len() > 700);
    }

    /// The embedded table must match the current classification rules
    /// (regenerate it with `cargo run --example gen_syscalls` when not), and
    /// every aux must point at a usable length argument.
    #[test]
    fn default_table_matches_rules() {
        for d in Syscalls::default_x86_64().table().syscalls.iter() {
            let pairs: Vec<_> = d
                .args
                .iter()
                .map(|a| (a.ctype.to_string(), a.name.to_string()))
                .collect();
            assert_eq!(classify(&d.name, &pairs), *d.args, "{} is stale", d.name);
            for a in d.args.iter() {
                let len_arg = || &d.args[a.aux as usize];
                match a.kind {
                    ArgKind::BufIn | ArgKind::BufOut | ArgKind::IovecIn | ArgKind::IovecOut => {
                        assert_eq!(len_arg().kind, ArgKind::Scalar, "{}.{}", d.name, a.name)
                    }
                    ArgKind::SockaddrIn => assert_eq!(len_arg().kind, ArgKind::Scalar),
                    ArgKind::SockaddrOut => assert_eq!(len_arg().ctype, "int *"),
                    ArgKind::StructIn | ArgKind::StructOut => assert!(a.aux > 0),
                    // A conditional string names the option value of arg 0.
                    ArgKind::Str if a.aux != 0 => {
                        assert_eq!((&*d.name, &*a.name), ("prctl", "arg2"))
                    }
                    _ => assert_eq!(a.aux, 0, "{}.{}", d.name, a.name),
                }
            }
        }
    }

    /// On the machine the table was generated on, regenerating gives the same
    /// syscalls (catches a stale JSON after a rule or parser change).
    #[test]
    fn default_table_matches_live_kernel() {
        let dir = std::path::Path::new("/sys/kernel/tracing/events/syscalls");
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let read = |p| std::fs::read_to_string(p).ok();
        let (Some(h64), Some(h32)) = (
            read("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
            read("/usr/include/x86_64-linux-gnu/asm/unistd_32.h"),
        ) else {
            return;
        };
        let embedded = Syscalls::default_x86_64().table();
        if release.trim().is_empty() || !embedded.source.contains(release.trim()) {
            return; // generated elsewhere
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut formats = Vec::new();
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("sys_enter_") {
                let p = e.path().join("format");
                let text = std::fs::read_to_string(&p).unwrap();
                formats.push(parse_format(&p.display().to_string(), &text).unwrap());
            }
        }
        let t = build_table(
            &x86_64_names_from_unistd(&h64),
            &x86_64_names_from_unistd(&h32),
            &formats,
        );
        assert_eq!(t.syscalls, embedded.syscalls);
    }
}
