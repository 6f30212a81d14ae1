//! `saker export`: selected events to Parquet, CSV or JSON lines, written
//! batch by batch (Parquet row groups) so memory stays bounded, optionally
//! partitioned by hour in a hive layout
//! (`OUT/date=YYYY-MM-DD/hour=HH/part-N.parquet`).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_io::prelude::*;

use super::frame::Frame;
use super::query::{scan, Select};
use super::ChiselError;
use crate::capture::CaptureReader;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (zstd).
    Parquet,
    /// CSV with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

enum Sink {
    Parquet(Box<polars_io::parquet::write::BatchedWriter<BufWriter<File>>>),
    Csv { w: BufWriter<File>, header: bool },
    Jsonl(BufWriter<File>),
}

fn pe(e: PolarsError) -> ChiselError {
    ChiselError::Polars {
        reason: e.to_string(),
    }
}

impl Sink {
    fn create(path: &Path, fmt: Format, schema: &Schema) -> Result<Sink, ChiselError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let w = BufWriter::new(File::create(path)?);
        Ok(match fmt {
            Format::Parquet => Sink::Parquet(Box::new(
                ParquetWriter::new(w)
                    .with_compression(ParquetCompression::Zstd(None))
                    .batched(schema)
                    .map_err(pe)?,
            )),
            Format::Csv => Sink::Csv { w, header: true },
            Format::Jsonl => Sink::Jsonl(w),
        })
    }

    fn write(&mut self, df: &mut DataFrame) -> Result<(), ChiselError> {
        match self {
            Sink::Parquet(w) => w.write_batch(df).map_err(pe),
            Sink::Csv { w, header } => {
                CsvWriter::new(&mut *w)
                    .include_header(*header)
                    .finish(df)
                    .map_err(pe)?;
                *header = false;
                Ok(())
            }
            Sink::Jsonl(w) => JsonWriter::new(&mut *w)
                .with_json_format(JsonFormat::JsonLines)
                .finish(df)
                .map_err(pe),
        }
    }

    fn finish(self) -> Result<(), ChiselError> {
        use std::io::Write as _;
        match self {
            Sink::Parquet(w) => w.finish().map(|_| ()).map_err(pe),
            Sink::Csv { mut w, .. } | Sink::Jsonl(mut w) => Ok(w.flush()?),
        }
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Rows written.
    pub rows: u64,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Writes the events `sel` picks from `reader`, with `fields`, to `out` in
/// `fmt`. With `by_hour`, `out` is a directory of hive partitions by the
/// event's UTC hour (one writer open at a time; an hour met again later
/// gets a new `part-N` file).
pub fn export<B: AsRef<[u8]>>(
    reader: &CaptureReader<B>,
    sel: Select<'_>,
    fields: &[String],
    fmt: Format,
    out: &Path,
    by_hour: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<Written, ChiselError> {
    let mut frame = Frame::new(fields, super::query::BATCH_ROWS)?;
    let schema = frame.take()?.schema().as_ref().clone();
    let off = reader.meta().machine.boottime_to_epoch_ns;
    let hour_of = |ts: u64| {
        (ts as i64)
            .saturating_add(off)
            .div_euclid(3_600_000_000_000)
    };
    let mut written = Written::default();
    let mut current: Option<(i64, Sink)> = None;
    let mut parts: HashMap<i64, u32> = HashMap::new();
    if !by_hour {
        current = Some((0, Sink::create(out, fmt, &schema)?));
        written.files.push(out.to_path_buf());
    }
    let mut cur_hour: Option<i64> = None;
    let mut split = |ts: u64| {
        if !by_hour {
            return false;
        }
        let h = hour_of(ts);
        let changed = cur_hour.is_some_and(|c| c != h);
        cur_hour = Some(h);
        changed
    };
    let mut sink = |mut df: DataFrame, ts: u64| -> Result<(), ChiselError> {
        written.rows += df.height() as u64;
        if by_hour {
            let h = hour_of(ts);
            if current.as_ref().is_none_or(|(c, _)| *c != h) {
                if let Some((_, s)) = current.take() {
                    s.finish()?;
                }
                let n = parts.entry(h).or_insert(0);
                let path = partition_path(out, h, *n, fmt);
                *n += 1;
                written.files.push(path.clone());
                current = Some((h, Sink::create(&path, fmt, &schema)?));
            }
        }
        match current.as_mut() {
            Some((_, s)) => s.write(&mut df),
            None => Ok(()),
        }
    };
    scan(reader, sel, &mut frame, &mut split, &mut sink, progress)?;
    if let Some((_, s)) = current.take() {
        s.finish()?;
    }
    Ok(written)
}

/// `out/date=YYYY-MM-DD/hour=HH/part-N.EXT` for epoch hour `h`.
pub fn partition_path(out: &Path, h: i64, n: u32, fmt: Format) -> PathBuf {
    let t = chrono::DateTime::from_timestamp(h.saturating_mul(3600), 0).unwrap_or_default();
    out.join(format!("date={}", t.format("%Y-%m-%d")))
        .join(format!("hour={}", t.format("%H")))
        .join(format!("part-{n}.{}", fmt.ext()))
}
