//! Users and groups from the capture's start snapshot (`/etc/passwd`,
//! `/etc/group`); immutable and shared between state clones.

use std::sync::Arc;

use super::idmap::IdMap;

use crate::event::meta::{GroupInfo, Snapshot, UserInfo};

/// uid -> user and gid -> group lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    users: Arc<IdMap<u32, UserInfo>>,
    groups: Arc<IdMap<u32, GroupInfo>>,
}

impl Users {
    /// Builds the lookups; the first entry of a duplicated id wins (as `getpwuid`).
    pub fn from_snapshot(s: &Snapshot) -> Self {
        let mut users = IdMap::default();
        for u in &s.users {
            users.entry(u.uid).or_insert_with(|| u.clone());
        }
        let mut groups = IdMap::default();
        for g in &s.groups {
            groups.entry(g.gid).or_insert_with(|| g.clone());
        }
        Users {
            users: Arc::new(users),
            groups: Arc::new(groups),
        }
    }
    /// The user with `uid`.
    pub fn user(&self, uid: u32) -> Option<&UserInfo> {
        self.users.get(&uid)
    }
    /// The group with `gid`.
    pub fn group(&self, gid: u32) -> Option<&GroupInfo> {
        self.groups.get(&gid)
    }
    /// All users and groups, sorted by id (the snapshot lists).
    pub(super) fn lists(&self) -> (Vec<UserInfo>, Vec<GroupInfo>) {
        let mut users: Vec<UserInfo> = self.users.values().cloned().collect();
        users.sort_unstable_by_key(|u| u.uid);
        let mut groups: Vec<GroupInfo> = self.groups.values().cloned().collect();
        groups.sort_unstable_by_key(|g| g.gid);
        (users, groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_wins() {
        let u = |uid, name: &str| UserInfo {
            uid,
            gid: uid,
            name: name.into(),
            home: "/".into(),
            shell: "/bin/sh".into(),
        };
        let s = Snapshot {
            users: vec![u(0, "root"), u(0, "toor"), u(1000, "alice")],
            groups: vec![GroupInfo {
                gid: 0,
                name: "root".into(),
            }],
            ..Snapshot::default()
        };
        let us = Users::from_snapshot(&s);
        assert_eq!(us.user(0).unwrap().name, "root");
        assert_eq!(us.user(1000).unwrap().name, "alice");
        assert_eq!(us.user(5), None);
        assert_eq!(us.group(0).unwrap().name, "root");
    }
}
