//! `container.*` and `k8s.*` fields. saker knows a process's container id
//! (from its cgroup path); names, images and k8s metadata need a runtime
//! query that offline captures cannot make (see the catalogue).

use super::{EventCtx, Fid};
use crate::filter::ValueBuf;

/// Extracts a `container.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    let Some(p) = cx.process() else {
        return false;
    };
    let host = p.container_id.is_empty();
    match id {
        Fid::ContainerId => out.push_str(if host { "host" } else { &p.container_id }),
        Fid::ContainerName if host => out.push_str("host"),
        _ => return false,
    }
    true
}
