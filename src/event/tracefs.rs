//! Parser for the kernel's tracefs syscall format files
//! (`/sys/kernel/tracing/events/syscalls/sys_enter_NAME/format`).
//!
//! Pure text parsing, no I/O: the caller reads the files and passes their
//! text with a label (usually the path) used in error messages.

/// The argument list of one syscall as tracefs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracefsFormat {
    /// Syscall entry-point name without the `sys_enter_` prefix (`openat`,
    /// `newstat`); see `table::build_table` for how it maps to table names.
    pub name: String,
    /// `(C type, name)` of each argument, in order (the fields after
    /// `__syscall_nr`).
    pub args: Vec<(String, String)>,
}

/// Errors parsing a tracefs format file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TracefsError {
    /// A line could not be understood.
    #[error("{file}:{line}: {msg}")]
    Syntax {
        /// Label of the file (its path).
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// The file lacks a required part.
    #[error("{file}: {msg}")]
    Missing {
        /// Label of the file (its path).
        file: String,
        /// What is missing.
        msg: String,
    },
}

/// Most arguments a syscall can have.
const MAX_ARGS: usize = 6;

/// Parses one `sys_enter_*` format file. `file` labels errors.
pub fn parse_format(file: &str, text: &str) -> Result<TracefsFormat, TracefsError> {
    let syntax = |line: usize, msg: String| TracefsError::Syntax {
        file: file.to_string(),
        line,
        msg,
    };
    let mut name = None;
    let mut args = Vec::new();
    let mut seen_nr = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("name:") {
            let rest = rest.trim();
            let Some(n) = rest.strip_prefix("sys_enter_") else {
                return Err(syntax(
                    line_no,
                    format!("event name {rest:?} is not sys_enter_*"),
                ));
            };
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(syntax(line_no, format!("bad syscall name {n:?}")));
            }
            name = Some(n.to_string());
            continue;
        }
        let Some(field) = line.strip_prefix("field:") else {
            continue;
        };
        let decl = field.split(';').next().unwrap_or("").trim();
        let (ctype, fname) = split_decl(decl).ok_or_else(|| {
            syntax(
                line_no,
                format!("field declaration {decl:?} has no type and name"),
            )
        })?;
        if fname == "__syscall_nr" {
            seen_nr = true;
            continue;
        }
        if !seen_nr {
            continue; // common_* fields
        }
        if args.len() == MAX_ARGS {
            return Err(syntax(
                line_no,
                format!("more than {MAX_ARGS} syscall arguments"),
            ));
        }
        args.push((ctype.to_string(), fname.to_string()));
    }
    let name = name.ok_or_else(|| TracefsError::Missing {
        file: file.to_string(),
        msg: "no `name: sys_enter_*` line".into(),
    })?;
    if !seen_nr {
        return Err(TracefsError::Missing {
            file: file.to_string(),
            msg: "no `__syscall_nr` field".into(),
        });
    }
    Ok(TracefsFormat { name, args })
}

/// Splits `const char * filename` into (`const char *`, `filename`).
fn split_decl(decl: &str) -> Option<(&str, &str)> {
    let cut = decl.rfind(|c: char| c.is_whitespace() || c == '*')?;
    let (ctype, name) = (decl[..=cut].trim(), decl[cut + 1..].trim());
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (ident && !ctype.is_empty()).then_some((ctype, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_formats() {
        let f = parse_format("execve", include_str!("testdata/execve.format")).unwrap();
        assert_eq!(f.name, "execve");
        let args: Vec<_> = f.args.iter().map(|(t, n)| format!("{t}|{n}")).collect();
        assert_eq!(
            args,
            [
                "const char *|filename",
                "const char *const *|argv",
                "const char *const *|envp"
            ]
        );
        let f = parse_format("getppid", include_str!("testdata/getppid.format")).unwrap();
        assert_eq!((f.name.as_str(), f.args.len()), ("getppid", 0));
        let f = parse_format("read", include_str!("testdata/read.format")).unwrap();
        assert_eq!(f.args[1], ("char *".to_string(), "buf".to_string()));
        assert_eq!(f.args[2], ("size_t".to_string(), "count".to_string()));
    }

    #[test]
    fn errors_name_file_and_line() {
        let text =
            "name: sys_enter_x\nformat:\n\tfield:int __syscall_nr;\toffset:8;\n\tfield:int;\n";
        let e = parse_format("/t/format", text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/t/format:4: field declaration \"int\" has no type and name"
        );
        let e = parse_format("f", "name: sched_switch\n").unwrap_err();
        assert!(e.to_string().starts_with("f:1: event name"), "{e}");
        let e = parse_format("f", "name: sys_enter_x\n").unwrap_err();
        assert_eq!(e.to_string(), "f: no `__syscall_nr` field");
        let e = parse_format("f", "\tfield:int __syscall_nr;\n").unwrap_err();
        assert!(matches!(e, TracefsError::Missing { .. }));
    }

    #[test]
    fn rejects_too_many_args() {
        let mut text = String::from("name: sys_enter_x\n\tfield:int __syscall_nr;\n");
        for i in 0..7 {
            text.push_str(&format!("\tfield:long a{i};\toffset:0;\n"));
        }
        let e = parse_format("f", &text).unwrap_err();
        assert!(e.to_string().contains("f:9: more than 6"), "{e}");
    }

    #[test]
    fn live_formats_parse() {
        let dir = std::path::Path::new("/sys/kernel/tracing/events/syscalls");
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut n = 0;
        for e in rd.flatten() {
            let p = e.path().join("format");
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("sys_enter_") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let f = parse_format(&p.display().to_string(), &text).unwrap();
            assert_eq!(format!("sys_enter_{}", f.name), name);
            n += 1;
        }
        assert!(n > 300 || n == 0, "only {n} formats");
    }
}
