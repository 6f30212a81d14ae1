//! `user.*` and `group.*` fields: effective uid/gid with names, home and
//! shell from the capture's passwd/group snapshot, and the audit login user.

use super::{EventCtx, Fid};
use crate::filter::ValueBuf;
use crate::state::LOGINUID_UNSET;

/// Extracts a `user.*` or `group.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    let state = cx.state;
    let Some(p) = cx.process() else {
        return false;
    };
    let c = p.creds;
    match id {
        Fid::UserUid => out.push_u64(u64::from(c.euid)),
        Fid::UserName | Fid::UserHomedir | Fid::UserShell => {
            let Some(u) = state.user(c.euid) else {
                return false;
            };
            out.push_str(match id {
                Fid::UserName => &u.name,
                Fid::UserHomedir => &u.home,
                _ => &u.shell,
            });
        }
        Fid::UserLoginuid => out.push_i64(if c.loginuid == LOGINUID_UNSET {
            -1
        } else {
            i64::from(c.loginuid)
        }),
        Fid::UserLoginname => {
            if c.loginuid == LOGINUID_UNSET {
                return false;
            }
            let Some(u) = state.user(c.loginuid) else {
                return false;
            };
            out.push_str(&u.name);
        }
        Fid::GroupGid => out.push_u64(u64::from(c.egid)),
        Fid::GroupName => {
            let Some(g) = state.group(c.egid) else {
                return false;
            };
            out.push_str(&g.name);
        }
        _ => return false,
    }
    true
}
