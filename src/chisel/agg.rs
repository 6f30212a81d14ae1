//! [`GroupAgg`]: sums of u64 values per key, accumulated on polars
//! DataFrames. Rows with a key already in the current batch add to its row
//! (a combiner, keyed by the row's encoded key); new keys go into columnar
//! builders. Every [`BATCH`] distinct rows the batch becomes a DataFrame
//! that is grouped and merged into the running result, so memory is bounded
//! by the number of distinct keys, not of events. Also the sysdig-style
//! renderers for the resulting tables.

use std::collections::HashMap;

use polars::prelude::*;

use super::ChiselError;

/// Rows buffered before they are aggregated.
pub const BATCH: usize = 64 * 1024;

/// Type of a key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// Text.
    Str,
    /// Unsigned integer.
    U64,
}

/// One key value of a row.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// Text.
    Str(&'a str),
    /// Unsigned integer.
    U64(u64),
}

/// Distinct keys of the latest pushes kept for [`GroupAgg::push`]'s fast
/// path (least recently used last).
const RECENT: usize = 4;

/// An owned copy of one [`Key`], for the recent pushes.
#[derive(Debug)]
enum LastKey {
    Str(String),
    U64(u64),
}

impl LastKey {
    fn of(k: &Key<'_>) -> Self {
        match k {
            Key::Str(s) => LastKey::Str((*s).to_string()),
            Key::U64(v) => LastKey::U64(*v),
        }
    }
    fn is(&self, k: &Key<'_>) -> bool {
        match (self, k) {
            (LastKey::Str(a), Key::Str(b)) => a == b,
            (LastKey::U64(a), Key::U64(b)) => a == b,
            _ => false,
        }
    }
    fn set(&mut self, k: &Key<'_>) {
        match (self, k) {
            (LastKey::Str(a), Key::Str(b)) => {
                a.clear();
                a.push_str(b);
            }
            (me, k) => *me = LastKey::of(k),
        }
    }
}

enum KeyBuf {
    Str(StringChunkedBuilder),
    U64(Vec<u64>),
}

/// Grouped sums of value columns per key columns.
pub struct GroupAgg {
    key_names: Vec<PlSmallStr>,
    key_types: Vec<KeyType>,
    val_names: Vec<PlSmallStr>,
    keys: Vec<KeyBuf>,
    vals: Vec<Vec<u64>>,
    rows: usize,
    /// Row of the current batch by encoded key.
    index: HashMap<Box<[u8]>, usize, foldhash::fast::RandomState>,
    /// Scratch for encoding one row's key.
    kbuf: Vec<u8>,
    /// The keys and rows of the latest distinct pushes in this batch, the
    /// latest first: consecutive events mostly share one of a few keys
    /// (the same process; open, read, close), which are then compared as
    /// they are, with no encoding or hashing.
    recent: Vec<(Vec<LastKey>, usize)>,
    acc: Option<DataFrame>,
}

fn pe(e: PolarsError) -> ChiselError {
    ChiselError::Polars {
        reason: e.to_string(),
    }
}

impl GroupAgg {
    /// An aggregator over `keys` summing `vals`.
    pub fn new(keys: &[(&str, KeyType)], vals: &[&str]) -> Self {
        let mut g = GroupAgg {
            key_names: keys.iter().map(|(n, _)| PlSmallStr::from_str(n)).collect(),
            key_types: keys.iter().map(|(_, t)| *t).collect(),
            val_names: vals.iter().map(|n| PlSmallStr::from_str(n)).collect(),
            keys: Vec::new(),
            vals: Vec::new(),
            rows: 0,
            index: HashMap::default(),
            kbuf: Vec::new(),
            recent: Vec::with_capacity(RECENT),
            acc: None,
        };
        g.reset_builders();
        g
    }

    fn reset_builders(&mut self) {
        self.keys = self
            .key_types
            .iter()
            .zip(&self.key_names)
            .map(|(t, n)| match t {
                KeyType::Str => KeyBuf::Str(StringChunkedBuilder::new(n.clone(), BATCH)),
                KeyType::U64 => KeyBuf::U64(Vec::with_capacity(BATCH)),
            })
            .collect();
        self.vals = self
            .val_names
            .iter()
            .map(|_| Vec::with_capacity(BATCH))
            .collect();
        self.rows = 0;
        self.index.clear();
        self.recent.clear();
    }

    /// Adds one row (`keys` and `vals` in declaration order).
    pub fn push(&mut self, keys: &[Key<'_>], vals: &[u64]) -> Result<(), ChiselError> {
        let same = |last: &[LastKey]| {
            last.len() == keys.len() && last.iter().zip(keys).all(|(a, b)| a.is(b))
        };
        if let Some(p) = self.recent.iter().position(|(k, _)| same(k)) {
            let row = self.recent[p].1;
            self.bring_forward(p);
            self.add(row, vals);
            return Ok(());
        }
        self.kbuf.clear();
        for k in keys {
            match k {
                Key::Str(s) => {
                    self.kbuf.push(0);
                    self.kbuf.extend_from_slice(&(s.len() as u64).to_le_bytes());
                    self.kbuf.extend_from_slice(s.as_bytes());
                }
                Key::U64(v) => {
                    self.kbuf.push(1);
                    self.kbuf.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        if let Some(row) = self.index.get(self.kbuf.as_slice()).copied() {
            self.add(row, vals);
            self.remember(keys, row);
            return Ok(());
        }
        self.index.insert(self.kbuf.as_slice().into(), self.rows);
        self.remember(keys, self.rows);
        for (b, k) in self.keys.iter_mut().zip(keys) {
            match (b, k) {
                (KeyBuf::Str(b), Key::Str(s)) => b.append_value(s),
                (KeyBuf::Str(b), Key::U64(v)) => b.append_value(v.to_string()),
                (KeyBuf::U64(b), Key::U64(v)) => b.push(*v),
                (KeyBuf::U64(b), Key::Str(s)) => b.push(s.parse().unwrap_or(0)),
            }
        }
        for (b, v) in self.vals.iter_mut().zip(vals) {
            b.push(*v);
        }
        self.rows += 1;
        if self.rows >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds `vals` to the row of the latest [`push`](Self::push), when the
    /// batch still holds it; `false` (nothing added) after a flush or before
    /// any push. For callers that know a row has the same keys as the last.
    pub fn push_again(&mut self, vals: &[u64]) -> bool {
        match self.recent.first() {
            Some(&(_, row)) => {
                self.add(row, vals);
                true
            }
            None => false,
        }
    }

    /// Adds `vals` to the sums of `row`.
    #[inline]
    fn add(&mut self, row: usize, vals: &[u64]) {
        for (b, v) in self.vals.iter_mut().zip(vals) {
            b[row] = b[row].saturating_add(*v);
        }
    }

    /// Moves recent entry `p` to the front, the ones before it back by one
    /// (a few swaps: `rotate_right` costs more at this size).
    fn bring_forward(&mut self, p: usize) {
        for j in (1..=p).rev() {
            self.recent.swap(j, j - 1);
        }
    }

    /// Makes `keys` (at `row`) the first recent entry; once [`RECENT`] are
    /// kept, the least recent one's buffers are reused.
    fn remember(&mut self, keys: &[Key<'_>], row: usize) {
        if self.recent.len() < RECENT {
            self.recent.push((Vec::new(), row));
        }
        self.bring_forward(self.recent.len() - 1);
        let (last, r) = &mut self.recent[0];
        *r = row;
        last.truncate(keys.len());
        for (i, k) in keys.iter().enumerate() {
            match last.get_mut(i) {
                Some(l) => l.set(k),
                None => last.push(LastKey::of(k)),
            }
        }
    }

    /// Aggregates the buffered rows into the running result.
    pub fn flush(&mut self) -> Result<(), ChiselError> {
        if self.rows == 0 {
            return Ok(());
        }
        let keys = std::mem::take(&mut self.keys);
        let vals = std::mem::take(&mut self.vals);
        let mut cols: Vec<Column> = Vec::with_capacity(keys.len() + vals.len());
        for (k, n) in keys.into_iter().zip(&self.key_names) {
            cols.push(match k {
                KeyBuf::Str(b) => b.finish().into_column(),
                KeyBuf::U64(v) => Column::new(n.clone(), v),
            });
        }
        for (v, n) in vals.into_iter().zip(&self.val_names) {
            cols.push(Column::new(n.clone(), v));
        }
        let batch = DataFrame::new_infer_height(cols).map_err(pe)?;
        let lf = match self.acc.take() {
            Some(acc) => concat([acc.lazy(), batch.lazy()], UnionArgs::default()).map_err(pe)?,
            None => batch.lazy(),
        };
        let by: Vec<Expr> = self.key_names.iter().map(|n| col(n.clone())).collect();
        let aggs: Vec<Expr> = self
            .val_names
            .iter()
            .map(|n| col(n.clone()).sum())
            .collect();
        self.acc = Some(lf.group_by(by).agg(aggs).collect().map_err(pe)?);
        self.reset_builders();
        Ok(())
    }

    /// The aggregated table sorted by `by` (descending, then keys
    /// ascending), at most `top` rows.
    pub fn finish(&mut self, by: &str, top: usize) -> Result<DataFrame, ChiselError> {
        self.flush()?;
        let Some(acc) = self.acc.take() else {
            let mut cols: Vec<Column> = Vec::new();
            for (n, t) in self.key_names.iter().zip(&self.key_types) {
                cols.push(match t {
                    KeyType::Str => Column::new(n.clone(), Vec::<String>::new()),
                    KeyType::U64 => Column::new(n.clone(), Vec::<u64>::new()),
                });
            }
            for n in &self.val_names {
                cols.push(Column::new(n.clone(), Vec::<u64>::new()));
            }
            return DataFrame::new_infer_height(cols).map_err(pe);
        };
        let mut order: Vec<PlSmallStr> = vec![PlSmallStr::from_str(by)];
        order.extend(self.key_names.iter().cloned());
        let mut desc = vec![false; order.len()];
        desc[0] = true;
        let opts = SortMultipleOptions::default().with_order_descending_multi(desc);
        acc.lazy()
            .sort(order, opts)
            .limit(top as IdxSize)
            .collect()
            .map_err(pe)
    }
}

/// sysdig's `format_bytes`.
pub fn format_bytes(v: u64) -> String {
    const K: f64 = 1024.0;
    let f = v as f64;
    if f > K.powi(5) {
        format!("{:.2}P", f / K.powi(5))
    } else if f > K.powi(4) {
        format!("{:.2}T", f / K.powi(4))
    } else if f > K.powi(3) {
        format!("{:.2}G", f / K.powi(3))
    } else if f > K.powi(2) {
        format!("{:.2}M", f / K.powi(2))
    } else if f > K {
        format!("{:.2}KB", f / K)
    } else {
        format!("{v}B")
    }
}

/// sysdig's `format_time_interval` (ns).
pub fn format_time(v: u64) -> String {
    const S: u64 = 1_000_000_000;
    if v >= S {
        format!("{}.{:02}s", v / S, (v % S) / 10_000_000)
    } else if v >= S / 100 {
        format!("{}ms", v / 1_000_000)
    } else if v >= S / 1000 {
        format!("{}.{:02}ms", v / 1_000_000, (v % 1_000_000) / 10_000)
    } else if v >= S / 100_000 {
        format!("{}us", v / 1000)
    } else if v >= S / 1_000_000 {
        format!("{}.{:02}us", v / 1000, (v % 1000) / 10)
    } else {
        format!("{v}ns")
    }
}

/// Pads `s` to `n` characters (sysdig's `extend_string`).
pub fn extend(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len >= n {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(n - len))
    }
}

/// Text of cell `(col, row)` of `df`: strings as is, numbers in decimal.
pub fn cell(df: &DataFrame, name: &str, row: usize) -> String {
    match df.column(name).and_then(|c| c.get(row)) {
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(AnyValue::StringOwned(s)) => s.to_string(),
        Ok(AnyValue::Null) | Err(_) => String::new(),
        Ok(v) => v.to_string(),
    }
}

/// Integer cell `(col, row)` of `df` (0 when absent or not an integer).
pub fn cell_u64(df: &DataFrame, name: &str, row: usize) -> u64 {
    df.column(name)
        .ok()
        .and_then(|c| c.get(row).ok())
        .and_then(|v| v.extract::<u64>())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_match_sysdig() {
        assert_eq!(format_bytes(1024), "1024B");
        assert_eq!(format_bytes(1025), "1.00KB");
        assert_eq!(format_bytes(3 * 1024 * 1024 + 1), "3.00M");
        assert_eq!(format_time(999), "999ns");
        assert_eq!(format_time(1_500), "1.50us");
        assert_eq!(format_time(21_000), "21us");
        assert_eq!(format_time(2_340_000), "2.34ms");
        assert_eq!(format_time(12_000_000), "12ms");
        assert_eq!(format_time(1_100_000_000), "1.10s");
    }

    #[test]
    fn distinct_keys_past_a_batch() {
        let mut g = GroupAgg::new(&[("k", KeyType::U64)], &["v"]);
        let n = BATCH as u64 + 5;
        for round in 0..2 {
            for k in 0..n {
                g.push(&[Key::U64(k)], &[k + round]).unwrap();
            }
        }
        let df = g.finish("v", usize::MAX).unwrap();
        assert_eq!(df.height() as u64, n);
        assert_eq!(cell_u64(&df, "k", 0), n - 1);
        assert_eq!(cell_u64(&df, "v", 0), 2 * (n - 1) + 1);
    }

    proptest::proptest! {
        /// Sums equal a plain map's, whatever the order of keys: hits at
        /// every position of the recent list, and keys that fall out of it.
        #[test]
        fn sums_match_a_plain_map(rows in proptest::collection::vec((0u8..7, 0u64..3, 0u64..100), 0..400)) {
            let names = ["open", "read", "close", "a", "", "readv", "b"];
            let mut g = GroupAgg::new(&[("k", KeyType::Str), ("p", KeyType::U64)], &["v"]);
            let mut want: HashMap<(String, u64), u64> = HashMap::new();
            for (k, p, v) in &rows {
                let k = names[usize::from(*k)];
                g.push(&[Key::Str(k), Key::U64(*p)], &[*v]).unwrap();
                *want.entry((k.to_string(), *p)).or_default() += v;
            }
            let df = g.finish("v", usize::MAX).unwrap();
            let got: HashMap<(String, u64), u64> = (0..df.height())
                .map(|r| ((cell(&df, "k", r), cell_u64(&df, "p", r)), cell_u64(&df, "v", r)))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn groups_across_batches() {
        let mut g = GroupAgg::new(&[("k", KeyType::Str), ("p", KeyType::U64)], &["v"]);
        for i in 0..(BATCH as u64 * 2 + 10) {
            let k = if i % 3 == 0 { "a" } else { "b" };
            g.push(&[Key::Str(k), Key::U64(i % 2)], &[i]).unwrap();
        }
        let df = g.finish("v", 10).unwrap();
        assert_eq!(df.height(), 4);
        let total: u64 = (0..df.height()).map(|r| cell_u64(&df, "v", r)).sum();
        let n = BATCH as u64 * 2 + 10;
        assert_eq!(total, n * (n - 1) / 2);
        // sorted descending
        let v: Vec<u64> = (0..4).map(|r| cell_u64(&df, "v", r)).collect();
        assert!(v.windows(2).all(|w| w[0] >= w[1]));
    }
}
