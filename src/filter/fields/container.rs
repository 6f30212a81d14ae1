//! `container.*` and `k8s.*` fields. saker knows a process's container id
//! (from its cgroup path). Names, images and the privileged flag come from
//! the container metadata an imported `.scap` file carries
//! ([`crate::scap::containers`]); our own captures have none (they would need
//! a runtime query), nor k8s metadata.

use std::collections::HashMap;

use super::{EventCtx, Fid};
use crate::capture::CaptureMeta;
use crate::filter::ValueBuf;
use crate::scap::ContainerMeta;

/// Container metadata of a capture, by container id.
#[derive(Debug, Default)]
pub struct Containers(HashMap<String, ContainerMeta>);

impl Containers {
    /// The containers `meta` describes (none for saker captures).
    pub fn from_meta(meta: &CaptureMeta) -> Self {
        Containers(crate::scap::containers(meta))
    }
}

/// Extracts a `container.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    let Some(p) = cx.process() else {
        return false;
    };
    if p.container_id.is_empty() {
        match id {
            Fid::ContainerId | Fid::ContainerName => out.push_str("host"),
            _ => return false,
        }
        return true;
    }
    if id == Fid::ContainerId {
        out.push_str(&p.container_id);
        return true;
    }
    let Some(c) = cx.env.containers.0.get(&*p.container_id) else {
        return false;
    };
    match id {
        Fid::ContainerName if !c.name.is_empty() => out.push_str(&c.name),
        Fid::ContainerImage if !c.image.is_empty() => out.push_str(&c.image),
        Fid::ContainerImageRepository if !c.repo.is_empty() => out.push_str(&c.repo),
        Fid::ContainerImageTag if !c.tag.is_empty() => out.push_str(&c.tag),
        Fid::ContainerPrivileged => match c.privileged {
            Some(b) => out.push_bool(b),
            None => return false,
        },
        _ => return false,
    }
    true
}
