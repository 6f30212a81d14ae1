//! The sysdig/Falco field catalogue over saker events: [`Fields`] resolves
//! names (once, at compile time) to catalogue ids, and [`EventCtx`] extracts
//! their values from one record plus the reconstructed [`State`].
//!
//! Split by class: `evt.rs` (the event itself), `proc.rs` (process and
//! ancestry), `thread.rs`, `fd.rs` (the fd the event works on), `user.rs`
//! (user and group), `container.rs` (container and k8s), `fs.rs`
//! (`fs.path.*` and path resolution). `catalog.rs` lists every field;
//! `registry.rs` parses names and `[arg]`s.
//!
//! Extraction writes into the caller's [`ValueBuf`] and allocates nothing
//! per event, except for the text fields that need formatting (`evt.args`,
//! `evt.arg.*`) which reuse the context's scratch string.

mod catalog;
mod container;
mod evt;
mod fd;
mod fs;
mod proc;
mod registry;
mod thread;
mod user;

#[cfg(test)]
mod tests;

pub use catalog::{ArgRule, Avail, Class, Fid, FieldDef, CATALOG};
pub use evt::{code_has_fd, CodeInfo, IoDir, OutTime};
pub use fd::{fd_display_name, fd_type_name, fd_typechar};
pub use registry::{Fields, ANY};

use crate::capture::CaptureMeta;
use crate::event::display::ArgOpts;
use crate::event::table::Syscalls;
use crate::event::text::{escape_bytes, push_i64, push_u64};
use crate::event::wire::CODE_SPECIAL;
use crate::event::Record;
use crate::filter::{FieldInfo, FieldSource, ValueBuf};
use crate::state::{Effect, Process, State, Thread};

/// Everything about a capture the fields need besides the state: the
/// syscall table, per-code facts computed once, clock and display options.
#[derive(Debug)]
pub struct FieldEnv {
    codes: Vec<CodeInfo>,
    /// Add to a record timestamp for ns since the epoch.
    pub epoch_off: i64,
    /// Timestamp of the capture's first event (for `evt.reltime`).
    pub first_ts: u64,
    /// The capture's hostname.
    pub hostname: String,
    /// What `evt.outputtime` shows.
    pub out_time: OutTime,
    /// Buffer rendering for `evt.args`, `evt.arg.*` and `evt.buffer` text.
    pub arg_opts: ArgOpts,
    /// Container metadata (imported `.scap` captures only).
    pub containers: container::Containers,
}

impl FieldEnv {
    /// Builds the environment for a capture with `table` and `meta`, whose
    /// first event has timestamp `first_ts`.
    pub fn new(table: &Syscalls, meta: &CaptureMeta, first_ts: u64) -> Self {
        FieldEnv {
            codes: evt::code_table(table),
            epoch_off: meta.machine.boottime_to_epoch_ns,
            first_ts,
            hostname: meta.machine.hostname.clone(),
            out_time: OutTime::Human,
            arg_opts: ArgOpts::default(),
            containers: container::Containers::from_meta(meta),
        }
    }

    /// Facts about event code `code`.
    #[inline]
    pub fn code(&self, code: u16) -> &CodeInfo {
        let i = (code as usize).min(self.codes.len() - 1);
        &self.codes[i]
    }

    /// Converts a record timestamp to ns since the epoch.
    #[inline]
    pub fn epoch(&self, ts: u64) -> i64 {
        (ts as i64).saturating_add(self.epoch_off)
    }
}

/// Timestamps of the events that passed the filter, for `-t D`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shown {
    /// The first such event's timestamp.
    pub first: Option<u64>,
    /// The previous such event's timestamp (printed or not: like sysdig, an event
    /// whose line is dropped for a missing field still counts).
    pub prev: Option<u64>,
}

/// One event as seen by the fields: the record, its number, the state after
/// applying it, and what the application did.
pub struct EventCtx<'a> {
    /// The record.
    pub rec: Record<'a>,
    /// 0-based event number in the capture (`evt.num` is this + 1).
    pub num: u64,
    /// The state after `rec` was applied.
    pub state: &'a State,
    /// The capture's syscall table.
    pub table: &'a Syscalls,
    /// The capture's metadata.
    pub meta: &'a CaptureMeta,
    /// What applying `rec` did (the fd it created or closed).
    pub effect: &'a Effect,
    /// Per-capture facts and options.
    pub env: &'a FieldEnv,
    /// Printed-event timestamps (for `evt.outputtime`).
    pub shown: Shown,
    scratch: &'a mut String,
    thread: Option<Option<&'a Thread>>,
    process: Option<Option<&'a Process>>,
}

impl<'a> EventCtx<'a> {
    /// A context for one event. `scratch` is reused for text fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rec: Record<'a>,
        num: u64,
        state: &'a State,
        table: &'a Syscalls,
        meta: &'a CaptureMeta,
        effect: &'a Effect,
        env: &'a FieldEnv,
        scratch: &'a mut String,
    ) -> Self {
        EventCtx {
            rec,
            num,
            state,
            table,
            meta,
            effect,
            env,
            shown: Shown::default(),
            scratch,
            thread: None,
            process: None,
        }
    }

    /// The thread of the event, if known.
    #[inline]
    pub fn thread(&mut self) -> Option<&'a Thread> {
        let state = self.state;
        let tid = self.rec.tid();
        *self.thread.get_or_insert_with(|| state.thread(tid))
    }

    /// The process of the event, if known.
    #[inline]
    pub fn process(&mut self) -> Option<&'a Process> {
        let state = self.state;
        let pid = self.rec.pid();
        *self.process.get_or_insert_with(|| state.process(pid))
    }

    /// Facts about this event's code.
    #[inline]
    pub fn code(&self) -> &'a CodeInfo {
        self.env.code(self.rec.code())
    }

    /// Whether the event is a syscall.
    #[inline]
    pub fn is_syscall(&self) -> bool {
        self.rec.code() < CODE_SPECIAL
    }
}

impl FieldSource for EventCtx<'_> {
    #[inline]
    fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        let Some(def) = CATALOG.get(f.id as usize) else {
            return false;
        };
        if def.avail != Avail::Yes {
            return false;
        }
        match def.class() {
            Class::Evt => evt::value(self, def.id, f, out),
            Class::Proc => proc::value(self, def.id, f, out),
            Class::Thread => thread::value(self, def.id, out),
            Class::Fd => fd::value(self, def.id, out),
            Class::User | Class::Group => user::value(self, def.id, out),
            Class::Container | Class::K8s => container::value(self, def.id, out),
            Class::Fs => fs::value(self, def.id, out),
        }
    }

    #[inline]
    fn write_text(&mut self, f: &FieldInfo, out: &mut String) -> Option<bool> {
        let def = CATALOG.get(f.id as usize)?;
        match def.id {
            Fid::EvtArgs | Fid::EvtInfo if def.avail == Avail::Yes => {
                self.write_args(out);
                Some(true)
            }
            _ => None,
        }
    }

    /// The fields of sysdig's default line but `evt.args` (that one is
    /// [`write_text`](FieldSource::write_text)).
    #[inline]
    fn write_plain(&mut self, f: &FieldInfo, out: &mut String) -> Option<bool> {
        let def = CATALOG.get(f.id as usize)?;
        if f.arg.is_some() || def.avail != Avail::Yes {
            return None;
        }
        let rec = self.rec;
        match def.id {
            Fid::EvtNum => push_u64(self.num + 1, out),
            Fid::EvtCpu => push_i64(i64::from(rec.cpu()), out),
            Fid::ThreadTid => push_i64(i64::from(rec.tid()), out),
            Fid::EvtTime => evt::write_time(self.env.epoch(rec.ts()), out),
            Fid::EvtOutputtime if self.env.out_time == OutTime::Human => {
                evt::write_time(self.env.epoch(rec.ts()), out)
            }
            Fid::EvtDir => out.push_str(evt::dir(rec.code())),
            Fid::EvtType => escape_bytes(self.code().name.as_bytes(), out),
            Fid::ProcName => match self.thread().filter(|t| !t.comm.is_empty()) {
                Some(t) => escape_bytes(t.comm.as_bytes(), out),
                None => return Some(false),
            },
            _ => return None,
        }
        Some(true)
    }
}
