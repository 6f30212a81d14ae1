//! sysdig/Falco names of syscall arguments (`evt.arg.NAME`).
//!
//! Schemas use the kernel's argument names (`filename`, `dfd`, `oldname`);
//! sysdig's event table renamed many of them, and Falco rules match on the
//! sysdig names (`evt.arg.path`, `evt.arg.oldpath`, `evt.arg.name`...).
//! [`sysdig_arg_name`] maps one to the other: generic renames first (`*dfd`
//! -> `*dirfd`, `oldname`/`newname` -> `oldpath`/`newpath`), then the
//! per-family names sysdig chose for path arguments.

/// The sysdig name of argument `arg` of `syscall` (the kernel name when
/// sysdig uses the same one or has no such event).
pub fn sysdig_arg_name<'a>(syscall: &str, arg: &'a str) -> &'a str {
    let sc = syscall;
    let path_arg = matches!(arg, "filename" | "pathname" | "path");
    match arg {
        "dfd" | "olddfd" | "newdfd" if sc == "linkat" => {
            if arg == "olddfd" {
                "olddir"
            } else {
                "newdir"
            }
        }
        "newdfd" if sc == "symlinkat" => "linkdirfd",
        "dfd" => "dirfd",
        "olddfd" => "olddirfd",
        "newdfd" => "newdirfd",
        "oldname" if sc.starts_with("symlink") => "target",
        "newname" if sc.starts_with("symlink") => "linkpath",
        "oldname" => "oldpath",
        "newname" => "newpath",
        _ if path_arg && (is_open(sc) || sc == "unlinkat" || sc == "access") => "name",
        _ if path_arg && is_path_family(sc) => "path",
        "dev_name" if sc == "mount" => "dev",
        "dir_name" if sc == "mount" => "dir",
        "family" if sc.starts_with("socket") => "domain",
        "protocol" if sc.starts_with("socket") => "proto",
        "clone_flags" | "unshare_flags" => "flags",
        "flags" if sc == "setns" => "nstype",
        "uname" if sc == "memfd_create" => "name",
        _ => arg,
    }
}

/// Syscalls whose path sysdig calls `name`.
fn is_open(sc: &str) -> bool {
    matches!(sc, "open" | "openat" | "openat2" | "creat")
}

/// Syscalls whose path sysdig calls `path`.
fn is_path_family(sc: &str) -> bool {
    matches!(
        sc,
        "mkdir"
            | "mkdirat"
            | "rmdir"
            | "unlink"
            | "chdir"
            | "chroot"
            | "chown"
            | "lchown"
            | "stat"
            | "lstat"
            | "truncate"
            | "mknod"
            | "mknodat"
            | "readlink"
            | "readlinkat"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falco_names() {
        let n = sysdig_arg_name;
        assert_eq!(n("openat", "filename"), "name");
        assert_eq!(n("openat", "dfd"), "dirfd");
        assert_eq!(n("openat", "flags"), "flags");
        assert_eq!(n("mkdirat", "pathname"), "path");
        assert_eq!(n("unlink", "pathname"), "path");
        assert_eq!(n("unlinkat", "pathname"), "name");
        assert_eq!(n("chmod", "filename"), "filename");
        assert_eq!(n("execve", "filename"), "filename");
        assert_eq!(n("rename", "oldname"), "oldpath");
        assert_eq!(n("renameat2", "newdfd"), "newdirfd");
        assert_eq!(n("linkat", "olddfd"), "olddir");
        assert_eq!(n("linkat", "newname"), "newpath");
        assert_eq!(n("symlinkat", "oldname"), "target");
        assert_eq!(n("symlinkat", "newdfd"), "linkdirfd");
        assert_eq!(n("symlink", "newname"), "linkpath");
        assert_eq!(n("mount", "dev_name"), "dev");
        assert_eq!(n("socket", "family"), "domain");
        assert_eq!(n("clone", "clone_flags"), "flags");
        assert_eq!(n("ptrace", "request"), "request");
        assert_eq!(n("setuid", "uid"), "uid");
    }
}
