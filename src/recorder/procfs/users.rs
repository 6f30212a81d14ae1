//! Users and groups: `/etc/passwd` and `/etc/group` parsers (malformed lines
//! are skipped, never fatal) and their readers.

use std::path::Path;

use super::{read_text, ProcfsError};
use crate::event::meta::{GroupInfo, UserInfo};

/// Cap on `/etc/passwd` and `/etc/group` (LDAP-less hosts are far below).
const ETC_CAP: u64 = 16 * 1024 * 1024;

/// Lines that hold entries: no comments, blanks or NIS `+`/`-` overrides.
fn entry_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with('+') && !t.starts_with('-')
    })
}

/// Parses `/etc/passwd` (`name:pw:uid:gid:gecos:home:shell`); lines without
/// seven fields or with non-numeric ids are skipped.
pub fn parse_passwd(text: &str) -> Vec<UserInfo> {
    entry_lines(text)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let [name, _pw, uid, gid, _gecos, home, shell] = f.as_slice() else {
                return None;
            };
            if name.is_empty() {
                return None;
            }
            Some(UserInfo {
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                name: (*name).to_string(),
                home: (*home).to_string(),
                shell: (*shell).to_string(),
            })
        })
        .collect()
}

/// Parses `/etc/group` (`name:pw:gid:members`); malformed lines are skipped.
pub fn parse_group(text: &str) -> Vec<GroupInfo> {
    entry_lines(text)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let [name, _pw, gid, _members] = f.as_slice() else {
                return None;
            };
            if name.is_empty() {
                return None;
            }
            Some(GroupInfo {
                gid: gid.parse().ok()?,
                name: (*name).to_string(),
            })
        })
        .collect()
}

/// Reads `etc_root/passwd`; a missing file (minimal containers) is empty.
pub fn read_users(etc_root: &Path) -> Result<Vec<UserInfo>, ProcfsError> {
    read_optional(&etc_root.join("passwd")).map(|t| parse_passwd(&t))
}

/// Reads `etc_root/group`; a missing file is empty.
pub fn read_groups(etc_root: &Path) -> Result<Vec<GroupInfo>, ProcfsError> {
    read_optional(&etc_root.join("group")).map(|t| parse_group(&t))
}

/// The text of a file, or empty when it does not exist.
fn read_optional(path: &Path) -> Result<String, ProcfsError> {
    match read_text(path, ETC_CAP) {
        Err(ProcfsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(String::new())
        }
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd() {
        let text = "# comment\nroot:x:0:0:root:/root:/bin/bash\n\n\
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\r\n\
            broken:x:1000\nbad:x:abc:0::/h:/s\n+nisuser::::::\n\
            :x:5:5::/h:/s\nalice:x:1000:1000:Alice A,,,:/home/alice:/bin/zsh\n\
            toolong:x:1:1:a:b:c:d\n";
        let users = parse_passwd(text);
        let names: Vec<_> = users
            .iter()
            .map(|u| (u.name.as_str(), u.uid, u.gid))
            .collect();
        assert_eq!(
            names,
            [("root", 0, 0), ("daemon", 1, 1), ("alice", 1000, 1000)]
        );
        assert_eq!(users[1].shell, "/usr/sbin/nologin");
        assert_eq!(users[2].home, "/home/alice");
        assert!(parse_passwd("").is_empty());
        assert!(parse_passwd(":::::::::\n\0\n").is_empty());
    }

    #[test]
    fn group() {
        let text = "root:x:0:\nwheel:x:10:alice,bob\nbad:x:-1:\nshort:x\nusers:x:100:\n";
        let groups = parse_group(text);
        let v: Vec<_> = groups.iter().map(|g| (g.name.as_str(), g.gid)).collect();
        assert_eq!(v, [("root", 0), ("wheel", 10), ("users", 100)]);
    }

    #[test]
    fn missing_files_are_empty() {
        let dir = Path::new("/nonexistent-saker-etc");
        assert!(read_users(dir).unwrap().is_empty());
        assert!(read_groups(dir).unwrap().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_passwd(&s);
            let _ = parse_group(&s);
        }
    }
}
