//! [`Source`]: the TUI's read access to one capture. It owns the capture
//! reader, the field environment, the event-list column templates and the
//! [`BlockCache`] of rendered blocks; it answers "rows of block i", "state
//! just before event n" and "every field of event n".
//!
//! Rendering a block replays the state from the nearest checkpoint (or the
//! start-of-capture snapshot when the indexer has not finished; such blocks
//! are flagged approximate and re-rendered once checkpoints arrive). Only
//! the blocks on screen are ever decompressed.

use std::sync::Arc;

use super::cache::BlockCache;
use super::timeline::Category;
use super::TuiError;
use crate::capture::{CaptureReader, Cursor};
use crate::event::table::Syscalls;
use crate::event::wire::{ParamKind, Record};
use crate::filter::fields::{fd_display_name, EventCtx, FieldEnv, Fields, IoDir, CATALOG};
use crate::filter::ValueBuf;
use crate::output::format::Piece;
use crate::output::{table_of, Template, DEFAULT_FORMAT};
use crate::source::CaptureBytes;
use crate::state::{Checkpoints, Effect, State};
use crate::state::{FdEntry, FdKind};

/// The capture reader type the TUI uses: over a mapping of our file, or
/// bytes in memory (an imported `.scap`, a live recording).
pub type Capture = CaptureReader<CaptureBytes>;

/// Most bytes of an I/O buffer kept per row for the I/O view.
pub const MAX_ROW_DATA: usize = 4096;

/// One rendered event of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 0-based event number.
    pub num: u64,
    /// Timestamp (CLOCK_BOOTTIME ns).
    pub ts: u64,
    /// Thread id.
    pub tid: u32,
    /// Process id.
    pub pid: u32,
    /// Timeline category.
    pub cat: Category,
    /// Column texts, escaped (see [`Source::column_names`]).
    pub cols: Vec<Box<str>>,
    /// The fd the event works on, when any.
    pub fd: Option<i64>,
    /// I/O direction and captured data (at most [`MAX_ROW_DATA`] bytes).
    pub io: Option<(IoDir, Box<[u8]>)>,
}

/// A decompressed and rendered block.
#[derive(Debug)]
pub struct LoadedBlock {
    /// Block index.
    pub index: usize,
    /// Number of its first event.
    pub first_event: u64,
    /// Rendered rows, in file order.
    pub rows: Vec<Row>,
    /// The state just before the block's first event.
    pub start_state: State,
    /// Rendered from an approximate start state (no checkpoints yet).
    pub approx: bool,
    /// The block's wire records, decompressed (for replays without zstd).
    pub bytes: Vec<u8>,
    /// Offset of each record in `bytes`.
    pub offsets: Vec<u32>,
}

impl LoadedBlock {
    /// The record of event `n`, if in this block.
    pub fn record(&self, n: u64) -> Option<Record<'_>> {
        let i = usize::try_from(n.checked_sub(self.first_event)?).ok()?;
        let off = *self.offsets.get(i)? as usize;
        Record::parse(self.bytes.get(off..)?).ok().map(|(r, _)| r)
    }
}

/// One field of the details pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLine {
    /// Field name.
    pub name: &'static str,
    /// Its value, escaped.
    pub value: String,
}

/// Everything known about one event (for the details pane).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// Event number.
    pub num: u64,
    /// Every field with a value.
    pub fields: Vec<FieldLine>,
    /// Captured buffers: `(label, bytes)`.
    pub buffers: Vec<(String, Vec<u8>)>,
    /// Latency (exit − entry), when the entry time was recorded.
    pub latency_ns: Option<u64>,
}

/// Read access to a capture for the TUI.
pub struct Source {
    cap: Arc<Capture>,
    table: Arc<Syscalls>,
    env: Arc<FieldEnv>,
    columns: Vec<Column>,
    details: Vec<(&'static str, Template)>,
    start: State,
    checkpoints: Option<Arc<Checkpoints>>,
    cache: BlockCache,
    /// Per block: events per [`Category`], from the block headers.
    cat_counts: Vec<[u64; 4]>,
}

/// One column of the event list, from a field of the `-p` format.
#[derive(Debug, Clone)]
pub struct Column {
    /// The field as written (`proc.name`).
    pub key: String,
    /// Its header.
    pub header: String,
    /// Its width; `None` for the last column (the rest of the line).
    pub width: Option<u16>,
    tmpl: Template,
}

/// Header and width of the fields of `saker read`'s default line.
const KNOWN: [(&str, &str, u16); 8] = [
    ("evt.num", "num", 7),
    ("evt.outputtime", "time", 18),
    ("evt.time", "time", 18),
    ("evt.cpu", "cpu", 3),
    ("proc.name", "proc", 14),
    ("thread.tid", "tid", 8),
    ("evt.dir", "d", 1),
    ("evt.type", "type", 12),
];

/// The columns of `format` (one per field; literal text is dropped).
pub fn columns_of(format: &str) -> Result<Vec<Column>, TuiError> {
    let t = template(format)?;
    let mut cols = Vec::new();
    for p in t.pieces() {
        if let Piece::Field { key, width, .. } = p {
            let known = KNOWN.iter().find(|k| k.0 == key);
            let header = known.map_or_else(
                || key.rsplit('.').next().unwrap_or(key).to_string(),
                |k| k.1.to_string(),
            );
            let w = width
                .map(|w| u16::try_from(w.n).unwrap_or(u16::MAX))
                .or(known.map(|k| k.2))
                .unwrap_or(12)
                .max(header.chars().count() as u16);
            cols.push(Column {
                key: key.clone(),
                header,
                width: Some(w),
                tmpl: template(&format!("*%{key}"))?,
            });
        }
    }
    if let Some(last) = cols.last_mut() {
        last.width = None;
    }
    if cols.is_empty() {
        return Err(TuiError::Template {
            format: format.to_string(),
            message: "the format names no field".into(),
        });
    }
    Ok(cols)
}

fn template(fmt: &str) -> Result<Template, TuiError> {
    Template::parse(fmt, &Fields).map_err(|e| TuiError::Template {
        format: fmt.to_string(),
        message: e.to_string(),
    })
}

/// The connection tuple of a connected socket entry and its reverse
/// (`cip:cport->sip:sport`, `sip:sport->cip:cport`), unescaped text as
/// `fd.name` compares it.
pub fn conn_tuple(e: &FdEntry) -> Option<(String, String)> {
    let s = e.socket.as_ref().filter(|_| e.kind == FdKind::Socket)?;
    s.local.as_ref()?;
    s.remote.as_ref()?;
    let mut raw = Vec::new();
    fd_display_name(e, &mut raw);
    let t = String::from_utf8(raw).ok()?;
    let (a, b) = t.split_once("->")?;
    let rev = format!("{b}->{a}");
    Some((t, rev))
}

/// Per block from `from` on: events per [`Category`], from the block headers.
fn category_counts(cap: &Capture, table: &Syscalls, from: usize) -> Vec<[u64; 4]> {
    (from..cap.blocks().len())
        .map(|i| {
            let mut c = [0u64; 4];
            for (code, n) in cap.block_counts(i) {
                c[Category::of(code, table) as usize] += u64::from(n);
            }
            c
        })
        .collect()
}

impl Source {
    /// Opens the capture at `path`, whatever its kind (see
    /// [`crate::source::open`]): ours is memory-mapped, a sysdig/Falco
    /// `.scap` (plain or gzipped) is imported in memory.
    pub fn open(path: &std::path::Path, cache_blocks: usize) -> Result<Source, TuiError> {
        let opened = crate::source::open(path).map_err(|e| TuiError::Open {
            message: e.to_string(),
        })?;
        Self::from_reader(opened.reader, cache_blocks)
    }

    /// Opens a capture held in memory.
    pub fn from_vec(bytes: Vec<u8>, cache_blocks: usize) -> Result<Source, TuiError> {
        Self::from_reader(
            CaptureReader::new(CaptureBytes::Owned(bytes))?,
            cache_blocks,
        )
    }

    /// Shows the fields of `format` (sysdig `-p` syntax) as the event-list
    /// columns instead of `saker read`'s default line.
    pub fn set_format(&mut self, format: &str) -> Result<(), TuiError> {
        self.columns = columns_of(format)?;
        self.cache.retain(|_| false);
        Ok(())
    }

    fn from_reader(cap: Capture, cache_blocks: usize) -> Result<Source, TuiError> {
        let table = table_of(cap.meta()).into_owned();
        let env = FieldEnv::new(&table, cap.meta(), cap.totals().first_ts.unwrap_or(0));
        let columns = columns_of(DEFAULT_FORMAT)?;
        let mut details = Vec::new();
        for d in CATALOG.iter() {
            if matches!(d.avail, crate::filter::fields::Avail::Yes)
                && matches!(d.arg, crate::filter::fields::ArgRule::None)
            {
                details.push((d.name, template(&format!("%{}", d.name))?));
            }
        }
        let cat_counts = category_counts(&cap, &table, 0);
        let start = State::from_capture(table.table(), &cap.meta().snapshot);
        Ok(Source {
            cap: Arc::new(cap),
            table: Arc::new(table),
            env: Arc::new(env),
            columns,
            details,
            start,
            checkpoints: None,
            cache: BlockCache::new(cache_blocks),
            cat_counts,
        })
    }

    /// The capture reader (shared with background jobs).
    pub fn capture(&self) -> &Arc<Capture> {
        &self.cap
    }
    /// The syscall table.
    pub fn table(&self) -> &Arc<Syscalls> {
        &self.table
    }
    /// The field environment.
    pub fn env(&self) -> &Arc<FieldEnv> {
        &self.env
    }
    /// The state at the start of the capture (from its snapshot).
    pub fn start_state(&self) -> &State {
        &self.start
    }
    /// Event-list column names (the fields of the `-p` format, by default
    /// those of `saker read`'s default line).
    pub fn column_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(|c| c.key.as_str())
    }
    /// The event-list columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
    /// Per-block category counts (from block headers).
    pub fn category_counts(&self) -> &[[u64; 4]] {
        &self.cat_counts
    }
    /// The block cache (read-only: hit/miss counters, peeks).
    pub fn cache(&self) -> &BlockCache {
        &self.cache
    }
    /// Whether checkpoints are installed.
    pub fn has_checkpoints(&self) -> bool {
        self.checkpoints.is_some()
    }

    /// Installs the indexer's checkpoints; drops approximate cached blocks.
    pub fn set_checkpoints(&mut self, cp: Arc<Checkpoints>) {
        self.checkpoints = Some(cp);
        self.cache.retain(|b| !b.approx);
    }

    /// Replaces the capture by a longer version of itself (a live
    /// recording's in-memory capture, re-read after new blocks): written
    /// blocks never change, so cached blocks stay valid and only the new
    /// blocks' category counts are computed.
    pub fn grow(&mut self, bytes: Vec<u8>) -> Result<(), TuiError> {
        let cap = CaptureReader::new(CaptureBytes::Owned(bytes))?;
        let known = self.cat_counts.len().min(cap.blocks().len());
        self.cat_counts.truncate(known);
        let more = category_counts(&cap, &self.table, known);
        self.cat_counts.extend(more);
        if self.cap.totals().first_ts.is_none() {
            if let Some(first) = cap.totals().first_ts {
                self.env = Arc::new(FieldEnv::new(&self.table, cap.meta(), first));
            }
        }
        self.cap = Arc::new(cap);
        Ok(())
    }

    /// The checkpoints a live recording keeps current: every record is
    /// pushed here as it arrives, so rows render from exact states.
    pub fn live_checkpoints(&mut self) -> Result<&mut Checkpoints, TuiError> {
        let cp = match self.checkpoints.take() {
            Some(cp) => cp,
            None => Arc::new(Checkpoints::new(
                self.start.clone(),
                crate::state::DEFAULT_INTERVAL,
            )?),
        };
        Ok(Arc::make_mut(self.checkpoints.insert(cp)))
    }

    /// Total events.
    pub fn total_events(&self) -> u64 {
        self.cap.blocks().last().map_or(0, |b| b.end_event())
    }

    /// Block holding event `n`.
    pub fn block_of(&self, n: u64) -> usize {
        self.cap.block_for_event(n)
    }

    /// The state just before event `n` and whether it is exact, replaying
    /// from the nearest checkpoint (or the start).
    fn state_before(&self, n: u64) -> Result<(State, bool), TuiError> {
        let (mut st, exact) = match &self.checkpoints {
            Some(cp) => (cp.resume(n)?, true),
            None => (self.start.clone(), n == 0),
        };
        if !exact || st.applied() >= n {
            return Ok((st, exact));
        }
        let mut c = self.cap.cursor();
        c.seek_event(st.applied())?;
        while st.applied() < n {
            match c.next() {
                Some(r) => {
                    let (_, rec) = r?;
                    st.apply(&rec);
                }
                None => break,
            }
        }
        Ok((st, exact))
    }

    /// Makes sure block `i` is in the cache (decompressing and rendering it
    /// if needed); returns whether it was already there.
    pub fn ensure_block(&mut self, i: usize) -> Result<bool, TuiError> {
        if self.cache.get(i).is_some() {
            return Ok(true);
        }
        let Some(info) = self.cap.blocks().get(i).copied() else {
            return Ok(true);
        };
        let (mut st, exact) = self.state_before(info.first_event)?;
        let start_state = st.clone();
        let mut rows = Vec::with_capacity(info.event_count as usize);
        let mut c = self.cap.cursor();
        c.seek_event(info.first_event)?;
        let (mut scratch, mut vals) = (String::new(), ValueBuf::default());
        let mut bytes = Vec::with_capacity(info.uncompressed_len as usize);
        let mut offsets = Vec::with_capacity(info.event_count as usize);
        while let Some(r) = c.next() {
            let (num, rec) = r?;
            if num >= info.end_event() {
                break;
            }
            offsets.push(bytes.len() as u32);
            bytes.extend_from_slice(rec.bytes());
            let eff = st.apply(&rec);
            rows.push(self.render_row(num, rec, &st, &eff, &mut scratch, &mut vals));
        }
        self.cache.insert(LoadedBlock {
            index: i,
            first_event: info.first_event,
            rows,
            start_state,
            approx: !exact,
            bytes,
            offsets,
        });
        Ok(false)
    }

    fn render_row(
        &self,
        num: u64,
        rec: Record<'_>,
        st: &State,
        eff: &Effect,
        scratch: &mut String,
        vals: &mut ValueBuf,
    ) -> Row {
        let meta = self.cap.meta();
        let mut cx = EventCtx::new(rec, num, st, &self.table, meta, eff, &self.env, scratch);
        let mut cols = Vec::with_capacity(self.columns.len());
        let mut text = String::new();
        for c in &self.columns {
            text.clear();
            c.tmpl
                .render_text(&mut cx, vals, &self.env.arg_opts, &mut text);
            cols.push(text.as_str().into());
        }
        let info = self.env.code(rec.code());
        let fd = info
            .fd_arg
            .and_then(|a| rec.arg(usize::from(a)))
            .map(|v| i64::from(v as u32 as i32))
            .or_else(|| eff.fd.as_ref().map(|(f, _)| i64::from(*f)));
        let io = match info.io {
            IoDir::None => None,
            dir => rec
                .params()
                .find(|p| p.kind() == Some(ParamKind::Buf))
                .map(|p| (dir, p.data[..p.data.len().min(MAX_ROW_DATA)].into())),
        };
        Row {
            num,
            ts: rec.ts(),
            tid: rec.tid(),
            pid: rec.pid(),
            cat: Category::of(rec.code(), &self.table),
            cols,
            fd,
            io,
        }
    }

    /// The cached row of event `n` (without loading).
    pub fn row(&self, n: u64) -> Option<&Row> {
        let b = self.cache.peek(self.block_of(n))?;
        b.rows.get(usize::try_from(n - b.first_event).ok()?)
    }

    /// The state just before event `n` (after `0..n`), using the cached
    /// block's start state when possible.
    pub fn state_at(&mut self, n: u64) -> Result<State, TuiError> {
        let i = self.block_of(n);
        self.ensure_block(i)?;
        let Some(b) = self.cache.peek(i) else {
            return Ok(self.state_before(n)?.0);
        };
        let mut st = b.start_state.clone();
        for k in b.first_event..n {
            match b.record(k) {
                Some(rec) => {
                    st.apply(&rec);
                }
                None => break,
            }
        }
        Ok(st)
    }

    /// Every field of event `n`, its buffers and latency.
    pub fn details(&mut self, n: u64) -> Result<Option<Details>, TuiError> {
        let mut st = self.state_at(n)?;
        let Some(rec) = self.cache.peek(self.block_of(n)).and_then(|b| b.record(n)) else {
            return Ok(None);
        };
        let num = n;
        let eff = st.apply(&rec);
        let (mut scratch, mut vals) = (String::new(), ValueBuf::default());
        let meta = self.cap.meta();
        let mut cx = EventCtx::new(
            rec,
            num,
            &st,
            &self.table,
            meta,
            &eff,
            &self.env,
            &mut scratch,
        );
        let mut fields = Vec::new();
        let mut text = String::new();
        for (name, t) in &self.details {
            text.clear();
            if t.render_text(&mut cx, &mut vals, &self.env.arg_opts, &mut text) {
                fields.push(FieldLine {
                    name,
                    value: text.clone(),
                });
            }
        }
        let buffers = rec
            .params()
            .filter(|p| matches!(p.kind(), Some(ParamKind::Buf | ParamKind::Struct)))
            .map(|p| (format!("param {}", p.idx), p.data.to_vec()))
            .collect();
        let latency_ns = rec.enter_ts().map(|e| rec.ts().saturating_sub(e));
        Ok(Some(Details {
            num,
            fields,
            buffers,
            latency_ns,
        }))
    }

    /// A cursor over the capture (for scans).
    pub fn cursor(&self) -> Cursor<'_, CaptureBytes> {
        self.cap.cursor()
    }
}
