//! The fields a template writes straight into its line
//! ([`FieldSource::write_plain`]) print exactly what their values print
//! through a [`ValueBuf`], on every event of the real captures.

use super::format::Template;
use super::DEFAULT_FORMAT;
use crate::event::display::ArgOpts;
use crate::event::meta::{ProcInfo, Snapshot};
use crate::event::table::Syscalls;
use crate::event::{Record, RecordBuilder};
use crate::filter::fields::{EventCtx, FieldEnv, Fields, OutTime};
use crate::filter::{FieldInfo, FieldSource, ValueBuf};
use crate::state::State;

/// A source without the direct path: every plain field goes through `value`.
struct NoPlain<'s, S: ?Sized>(&'s mut S);

impl<S: FieldSource + ?Sized> FieldSource for NoPlain<'_, S> {
    fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        self.0.value(f, out)
    }
    fn write_text(&mut self, f: &FieldInfo, out: &mut String) -> Option<bool> {
        self.0.write_text(f, out)
    }
}

const TEMPLATES: &[&str] = &[
    DEFAULT_FORMAT,
    "%evt.num %evt.time %evt.cpu %proc.name %thread.tid %evt.dir %evt.type",
    "%8evt.num|%-20evt.time|%3evt.cpu|%-4proc.name|%12thread.tid|%2evt.dir|%-6evt.type|",
    // Without `*` a missing proc.name drops the line.
    "%proc.name %evt.outputtime %evt.type",
];

/// Renders every record of `records` (concatenated wire records) with each
/// template and `-t` mode, with and without the direct path; how many lines
/// were compared.
fn compare(meta: &crate::capture::CaptureMeta, records: &[u8], what: &str) -> usize {
    let table = super::table_of(meta);
    let templates: Vec<Template> = TEMPLATES
        .iter()
        .map(|t| Template::parse(t, &Fields).expect("template"))
        .collect();
    let modes = [OutTime::Human, OutTime::Absolute, OutTime::Relative];
    let first_ts = Record::parse(records).map_or(0, |(r, _)| r.ts());
    let mut envs: Vec<FieldEnv> = modes
        .iter()
        .map(|&m| {
            let mut env = FieldEnv::new(&table, meta, first_ts);
            env.out_time = m;
            env
        })
        .collect();
    let mut state = State::from_capture(table.table(), &meta.snapshot);
    let (mut scratch, mut vals) = (String::new(), ValueBuf::default());
    let (mut fast, mut slow) = (String::new(), String::new());
    let opts = ArgOpts::default();
    let (mut rest, mut num, mut lines) = (records, 0u64, 0);
    while !rest.is_empty() {
        let (rec, tail) = Record::parse(rest).expect("imported record");
        rest = tail;
        let eff = state.apply(&rec);
        for env in envs.iter_mut() {
            for t in &templates {
                fast.clear();
                slow.clear();
                let mut cx = EventCtx::new(rec, num, &state, &table, meta, &eff, env, &mut scratch);
                let a = t.render_text(&mut cx, &mut vals, &opts, &mut fast);
                let b = t.render_text(&mut NoPlain(&mut cx), &mut vals, &opts, &mut slow);
                assert_eq!((a, &fast), (b, &slow), "{what}: event {num}");
                lines += usize::from(a);
            }
        }
        num += 1;
    }
    lines
}

#[test]
fn plain_fields_print_what_their_values_print_on_real_captures() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/external");
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "{dir}: {e}");
            eprintln!("SKIP: {dir}: {e}");
            return;
        }
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    files.sort();
    let mut lines = 0;
    for f in &files {
        let b = std::fs::read(f).expect("read");
        let imp = crate::scap::import(&b).expect("import");
        lines += compare(&imp.meta, &imp.records, &f.display().to_string());
    }
    assert!(
        files.len() >= 20 && lines > 100_000,
        "{} files, {lines}",
        files.len()
    );
}

#[test]
fn plain_fields_escape_hostile_names_as_their_values_do() {
    let t = Syscalls::default_x86_64();
    let comms = [
        "a\u{1b}[2Jb",
        "tab\there",
        "back\\slash",
        "\u{202e}evil",
        "",
    ];
    let procs = comms
        .iter()
        .enumerate()
        .map(|(i, c)| ProcInfo {
            tid: 100 + i as u32,
            pid: 100 + i as u32,
            comm: (*c).into(),
            ..ProcInfo::default()
        })
        .collect();
    let meta = crate::capture::CaptureMeta {
        syscalls: t.table().clone(),
        snapshot: Snapshot {
            procs,
            ..Snapshot::default()
        },
        ..crate::capture::CaptureMeta::default()
    };
    let mut records = Vec::new();
    // Threads with each name, one unknown (no name), times before the
    // epoch and past a day, a CPU past u16's sign.
    for (i, ts) in [0u64, 86_399_999_999_999, 1 << 62, u64::MAX, 5]
        .iter()
        .enumerate()
    {
        let tid = 100 + i as u32 + u32::from(i == 4) * 1000;
        let r = RecordBuilder::new(t.codes("getpid")[0], 40_000, *ts, tid, tid, 1).build();
        records.extend_from_slice(&r);
    }
    // Per `-t` mode: 4 named threads print with every template, the
    // unknown one only with the default (`*`) line.
    assert_eq!(compare(&meta, &records, "hostile"), 3 * (4 * 4 + 1));
}
