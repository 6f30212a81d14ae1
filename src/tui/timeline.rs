//! The timeline model: event categories, the event-rate histogram and the
//! visible time window (zoom, pan, brush). Pure: no terminal, no I/O.
//!
//! The histogram starts from the block index alone (each block's per-code
//! counts spread evenly over its `[first_ts, last_ts]`), so the first frame
//! needs no decompression. When the background indexer has seen every event
//! it provides an exact fine-grained histogram that replaces the estimate.

use crate::capture::BlockInfo;
use crate::event::table::Syscalls;
use crate::event::wire::{CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK};

/// Timeline categories (stacked in this order, bottom up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Files and directories.
    File = 0,
    /// Sockets.
    Network = 1,
    /// Processes, threads, signals.
    Process = 2,
    /// Memory and everything else.
    Other = 3,
}

/// Buckets of the exact histogram built by the indexer.
pub const FINE_BUCKETS: usize = 8192;

impl Category {
    /// All categories, in stacking order.
    pub const ALL: [Category; 4] = [
        Category::File,
        Category::Network,
        Category::Process,
        Category::Other,
    ];

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Category::File => "file",
            Category::Network => "net",
            Category::Process => "proc",
            Category::Other => "mem+other",
        }
    }

    /// Classifies a syscall by name.
    pub fn of_name(name: &str) -> Category {
        let has = |l: &[&str]| l.iter().any(|p| name.starts_with(p));
        if has(&[
            "socket",
            "connect",
            "accept",
            "bind",
            "listen",
            "send",
            "recv",
            "shutdown",
            "getsockopt",
            "setsockopt",
            "getsockname",
            "getpeername",
        ]) {
            Category::Network
        } else if has(&[
            "clone", "fork", "vfork", "exec", "exit", "wait", "kill", "tkill", "tgkill", "rt_sig",
            "ptrace", "prctl", "unshare", "setns", "pidfd", "set_tid", "setsid", "setpgid",
            "setuid", "setgid", "setres", "capset", "proc",
        ]) {
            Category::Process
        } else if has(&[
            "open",
            "creat",
            "close",
            "read",
            "pread",
            "write",
            "pwrite",
            "stat",
            "lstat",
            "fstat",
            "newfstat",
            "statx",
            "access",
            "faccess",
            "mkdir",
            "rmdir",
            "unlink",
            "rename",
            "link",
            "symlink",
            "readlink",
            "chmod",
            "fchmod",
            "chown",
            "fchown",
            "lchown",
            "lseek",
            "fcntl",
            "dup",
            "truncate",
            "ftruncate",
            "getdents",
            "chdir",
            "fchdir",
            "getcwd",
            "mknod",
            "utime",
            "futime",
            "fsync",
            "fdatasync",
            "sync",
            "flock",
            "sendfile",
            "splice",
            "tee",
            "copy_file",
            "fallocate",
            "xattr",
            "getxattr",
            "setxattr",
            "listxattr",
            "removexattr",
            "inotify",
            "fanotify",
            "mount",
            "umount",
            "pivot_root",
            "chroot",
            "name_to_handle",
            "ioctl",
        ]) {
            Category::File
        } else {
            Category::Other
        }
    }

    /// Classifies an event code through the capture's syscall table.
    pub fn of(code: u16, table: &Syscalls) -> Category {
        match code {
            CODE_FORK | CODE_EXEC | CODE_EXIT => Category::Process,
            CODE_DROP => Category::Other,
            c => Category::of_name(&table.name(c)),
        }
    }
}

/// Event counts per time bucket and category.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Time of bucket 0's start.
    pub start: u64,
    /// Time just past the last bucket.
    pub end: u64,
    /// Counts per bucket and category.
    pub buckets: Vec<[f64; 4]>,
    /// Whether the counts are exact (indexer) or spread from block headers.
    pub exact: bool,
}

impl Histogram {
    /// Counts summed over `[t0, t1)` for `cols` equal columns, assuming
    /// events are spread evenly inside each bucket.
    pub fn resample(&self, t0: u64, t1: u64, cols: usize) -> Vec<[f64; 4]> {
        let mut out = vec![[0.0; 4]; cols];
        let n = self.buckets.len();
        if cols == 0 || n == 0 || t1 <= t0 || self.end <= self.start {
            return out;
        }
        let bw = (self.end - self.start) as f64 / n as f64;
        let cw = (t1 - t0) as f64 / cols as f64;
        for (c, o) in out.iter_mut().enumerate() {
            let a = t0 as f64 + c as f64 * cw;
            let b = a + cw;
            let ia = ((a - self.start as f64) / bw).floor().max(0.0) as usize;
            let ib = (((b - self.start as f64) / bw).ceil().max(0.0) as usize).min(n);
            for i in ia..ib {
                let ba = self.start as f64 + i as f64 * bw;
                let overlap = (b.min(ba + bw) - a.max(ba)).max(0.0) / bw;
                for (ok, bk) in o.iter_mut().zip(&self.buckets[i]) {
                    *ok += bk * overlap;
                }
            }
        }
        out
    }
}

/// The drop gaps of the index: `(first_ts, last_ts, drops)` of each block
/// that counts drops.
pub fn drop_gaps(blocks: &[BlockInfo]) -> Vec<(u64, u64, u64)> {
    blocks
        .iter()
        .filter(|b| b.drops > 0)
        .map(|b| (b.first_ts, b.last_ts, b.drops))
        .collect()
}

/// A histogram estimated from block headers: each block's counts spread
/// evenly over its time range, over `n` buckets spanning `[start, end]`.
pub fn from_blocks(blocks: &[BlockInfo], counts: &[[u64; 4]], n: usize) -> Histogram {
    let start = blocks.iter().map(|b| b.first_ts).min().unwrap_or(0);
    let end = blocks
        .iter()
        .map(|b| b.last_ts)
        .max()
        .unwrap_or(0)
        .max(start)
        + 1;
    let mut h = Histogram {
        start,
        end,
        buckets: vec![[0.0; 4]; n.max(1)],
        exact: false,
    };
    let n = h.buckets.len();
    let bw = (end - start) as f64 / n as f64;
    for (b, c) in blocks.iter().zip(counts) {
        let a = (b.first_ts - start) as f64;
        let z = (b.last_ts.max(b.first_ts) - start) as f64 + 1.0;
        let ia = (a / bw) as usize;
        let ib = ((z / bw).ceil() as usize).clamp(ia + 1, n);
        for i in ia.min(n - 1)..ib {
            let lo = i as f64 * bw;
            let share = ((z.min(lo + bw) - a.max(lo)).max(0.0)) / (z - a);
            for (hk, ck) in h.buckets[i].iter_mut().zip(c) {
                *hk += *ck as f64 * share;
            }
        }
    }
    h
}

/// Accumulates an exact histogram event by event (used by the indexer).
#[derive(Debug, Clone)]
pub struct HistBuilder {
    h: Histogram,
}

impl HistBuilder {
    /// A builder over `[start, end]` with [`FINE_BUCKETS`] buckets.
    pub fn new(start: u64, end: u64) -> Self {
        HistBuilder {
            h: Histogram {
                start,
                end: end.max(start) + 1,
                buckets: vec![[0.0; 4]; FINE_BUCKETS],
                exact: true,
            },
        }
    }
    /// Counts one event.
    pub fn add(&mut self, ts: u64, cat: Category) {
        let span = self.h.end - self.h.start;
        let off = ts.clamp(self.h.start, self.h.end - 1) - self.h.start;
        let i = ((u128::from(off) * FINE_BUCKETS as u128) / u128::from(span)) as usize;
        self.h.buckets[i.min(FINE_BUCKETS - 1)][cat as usize] += 1.0;
    }
    /// The finished histogram.
    pub fn finish(self) -> Histogram {
        self.h
    }
}

/// The visible time window and the brushed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Whole capture: first and last timestamps.
    pub full: (u64, u64),
    /// Shown range `[t0, t1]`.
    pub t0: u64,
    /// End of the shown range.
    pub t1: u64,
    /// Cursor time (for brushing by keys).
    pub cursor: u64,
    /// Brush start while a brush is being made.
    pub anchor: Option<u64>,
    /// The brushed range restricting the other panes.
    pub brush: Option<(u64, u64)>,
}

/// Narrowest window, in ns.
pub const MIN_SPAN: u64 = 1_000;

impl Window {
    /// The whole capture `[first, last]`.
    pub fn new(first: u64, last: u64) -> Self {
        let last = last.max(first);
        Window {
            full: (first, last),
            t0: first,
            t1: last,
            cursor: first,
            anchor: None,
            brush: None,
        }
    }

    /// Shown span in ns (at least 1).
    pub fn span(&self) -> u64 {
        (self.t1 - self.t0).max(1)
    }

    fn set(&mut self, t0: i128, span: i128) {
        let (f0, f1) = (i128::from(self.full.0), i128::from(self.full.1));
        let full = (f1 - f0).max(1);
        let span = span.clamp(MIN_SPAN.min(full as u64) as i128, full);
        let t0 = t0.clamp(f0, f1 - span);
        self.t0 = t0 as u64;
        self.t1 = (t0 + span) as u64;
        self.cursor = self.cursor.clamp(self.t0, self.t1);
    }

    /// Zooms by `factor` (< 1 in, > 1 out) keeping time `at` in place.
    pub fn zoom(&mut self, factor: f64, at: u64) {
        let span = self.span() as f64;
        let new = (span * factor).round() as i128;
        let rel = (at.clamp(self.t0, self.t1) - self.t0) as f64 / span;
        let t0 = at as i128 - (new as f64 * rel) as i128;
        self.set(t0, new);
    }

    /// Pans by `frac` of the shown span (negative: earlier).
    pub fn pan(&mut self, frac: f64) {
        let d = (self.span() as f64 * frac) as i128;
        self.set(i128::from(self.t0) + d, i128::from(self.span()));
        self.cursor = (i128::from(self.cursor) + d).clamp(self.t0.into(), self.t1.into()) as u64;
    }

    /// Shows the whole capture.
    pub fn reset(&mut self) {
        self.t0 = self.full.0;
        self.t1 = self.full.1;
    }

    /// Moves the cursor by `frac` of the shown span, panning to keep it visible.
    pub fn move_cursor(&mut self, frac: f64) {
        let d = (self.span() as f64 * frac) as i128;
        let c = (i128::from(self.cursor) + d).clamp(self.full.0.into(), self.full.1.into()) as u64;
        self.cursor = c;
        if c < self.t0 {
            self.set(c.into(), self.span().into());
        } else if c > self.t1 {
            self.set(i128::from(c) - i128::from(self.span()), self.span().into());
        }
        self.cursor = c;
    }

    /// Time at column `col` of `width` columns.
    pub fn time_at(&self, col: u16, width: u16) -> u64 {
        let w = u64::from(width.max(1));
        self.t0 + (u128::from(self.span()) * u128::from(col.min(width)) / u128::from(w)) as u64
    }

    /// Column of time `t` in `width` columns, if shown.
    pub fn col_of(&self, t: u64, width: u16) -> Option<u16> {
        if t < self.t0 || t > self.t1 || width == 0 {
            return None;
        }
        let c = u128::from(t - self.t0) * u128::from(width) / u128::from(self.span());
        Some((c as u16).min(width - 1))
    }

    /// Starts a brush at `t`, or completes it (ordering the ends).
    pub fn brush_point(&mut self, t: u64) {
        match self.anchor.take() {
            None => self.anchor = Some(t),
            Some(a) => self.brush = Some((a.min(t), a.max(t))),
        }
    }

    /// Removes the brush.
    pub fn clear_brush(&mut self) {
        self.anchor = None;
        self.brush = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_point_and_clamps() {
        let mut w = Window::new(1_000_000, 2_000_000);
        w.zoom(0.5, 1_500_000);
        assert_eq!((w.t0, w.t1), (1_250_000, 1_750_000));
        w.zoom(10.0, 1_500_000);
        assert_eq!((w.t0, w.t1), (1_000_000, 2_000_000));
        for _ in 0..100 {
            w.zoom(0.1, 1_000_000);
        }
        assert_eq!(w.span(), MIN_SPAN);
        assert_eq!(w.t0, 1_000_000);
    }

    #[test]
    fn pan_stays_inside() {
        let mut w = Window::new(0, 1_000_000);
        w.zoom(0.1, 0);
        w.pan(-1.0);
        assert_eq!(w.t0, 0);
        for _ in 0..50 {
            w.pan(1.0);
        }
        assert_eq!(w.t1, 1_000_000);
    }

    #[test]
    fn brush_orders_ends() {
        let mut w = Window::new(0, 100);
        w.brush_point(80);
        assert_eq!(w.brush, None);
        w.brush_point(20);
        assert_eq!(w.brush, Some((20, 80)));
        w.clear_brush();
        assert_eq!(w.brush, None);
    }

    #[test]
    fn categories() {
        assert_eq!(Category::of_name("openat"), Category::File);
        assert_eq!(Category::of_name("sendto"), Category::Network);
        assert_eq!(Category::of_name("execve"), Category::Process);
        assert_eq!(Category::of_name("mmap"), Category::Other);
    }

    #[test]
    fn spread_and_resample_conserve_counts() {
        let mk = |first_ts, last_ts| BlockInfo {
            offset: 0,
            header_len: 0,
            n_counts: 0,
            seq: 0,
            event_count: 0,
            compressed_len: 0,
            uncompressed_len: 0,
            first_ts,
            last_ts,
            first_event: 0,
            drops: 0,
            chain: [0; 32],
        };
        let h = from_blocks(
            &[mk(0, 99), mk(100, 199)],
            &[[10, 0, 0, 0], [0, 30, 0, 0]],
            64,
        );
        let total: f64 = h.buckets.iter().map(|b| b[0] + b[1]).sum();
        assert!((total - 40.0).abs() < 1e-6, "{total}");
        let cols = h.resample(0, 200, 2);
        assert!(
            (cols[0][0] - 10.0).abs() < 0.5 && (cols[1][1] - 30.0).abs() < 0.5,
            "{cols:?}"
        );
    }
}
