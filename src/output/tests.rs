//! Block skipping of the read pipeline: the output with skipping equals that of a
//! full scan, and fewer blocks are decoded.

use super::*;
use crate::capture::{CaptureMeta, CaptureReader, CaptureWriter, WriterOptions};
use crate::event::meta::{ProcInfo, Snapshot, Summary};
use crate::event::table::Syscalls;
use crate::event::wire::{drop as wdrop, RecordBuilder, CODE_DROP};
use crate::event::ParamKind;
use crate::filter::fields::{Fields, OutTime};
use proptest::prelude::*;

/// `n` events in small blocks; `kind(i)` picks each event's syscall out of
/// openat/read/close/getpid, and event `drop_at` is a gap marker.
fn capture(n: u64, kind: impl Fn(u64) -> u8, drop_at: Option<u64>) -> Vec<u8> {
    let t = Syscalls::default_x86_64();
    let meta = CaptureMeta {
        syscalls: t.table().clone(),
        snapshot: Snapshot {
            procs: vec![ProcInfo {
                tid: 100,
                pid: 100,
                ppid: 1,
                comm: "app".into(),
                ..ProcInfo::default()
            }],
            ..Snapshot::default()
        },
        ..CaptureMeta::default()
    };
    let opts = WriterOptions {
        block_size: 2048,
        ..WriterOptions::default()
    };
    let mut w = CaptureWriter::new(Vec::new(), &meta, opts).expect("writer");
    let c = |name| t.codes(name)[0];
    for i in 0..n {
        let ts = 1_000 + i * 100;
        let rec = if drop_at == Some(i) {
            let mut args = [0u64; 2];
            args[wdrop::COUNT] = 7;
            RecordBuilder::new(CODE_DROP, 0, ts, 0, 0, 0).args(&args)
        } else {
            match kind(i) % 4 {
                0 => RecordBuilder::new(c("openat"), 0, ts, 100, 100, 3)
                    .args(&[(-100i64) as u64, 0, 0, 0])
                    .param(1, ParamKind::Str, format!("/etc/f{i}").as_bytes()),
                1 => RecordBuilder::new(c("read"), 0, ts, 100, 100, 8)
                    .args(&[3, 0, 8])
                    .param(1, ParamKind::Buf, b"abcdefgh"),
                2 => RecordBuilder::new(c("close"), 0, ts, 100, 100, 0).args(&[3]),
                _ => RecordBuilder::new(c("getpid"), 0, ts, 100, 100, 100),
            }
        };
        w.push(&rec.build()).expect("push");
    }
    w.finish_into(&Summary::default()).expect("finish").1
}

fn opts(filter: &str, fmt: &str, from: Option<String>) -> ReadOptions {
    let ast = crate::filter::parse(filter).expect("filter parses");
    let f = crate::filter::compile(&ast, &Fields).expect("filter compiles");
    ReadOptions {
        filter: Some((ast, f)),
        template: Template::parse(fmt, &Fields).expect("format parses"),
        json: false,
        limit: None,
        from,
        to: None,
        out_time: OutTime::Human,
        arg_opts: Default::default(),
    }
}

fn read(cap: &CaptureReader<Vec<u8>>, o: &ReadOptions) -> (String, ReadStats) {
    let mut out = Vec::new();
    let st = run(cap, o, &mut out).expect("read runs");
    (String::from_utf8(out).expect("utf-8 output"), st)
}

/// The event lines of the full-scan reference: `filter or evt.type contains zzz` matches
/// the same events but can match every type (no skipping by counts); no `--from`, so lines
/// before it are dropped here by their `%evt.rawtime` (the first column). Gap lines,
/// which carry no time, are left out.
fn reference(cap: &CaptureReader<Vec<u8>>, filter: &str, fmt: &str, from: u64) -> String {
    let o = opts(&format!("({filter}) or evt.type contains zzz"), fmt, None);
    let (out, st) = read(cap, &o);
    assert_eq!(st.blocks_skipped, 0);
    out.lines()
        .filter(|l| {
            l.split(' ')
                .next()
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|t| t >= from)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `out` without its gap lines.
fn events(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("---"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn skips_blocks_by_type_and_time_with_the_same_output() {
    // Openats only in the first tenth; a gap marker late in the capture.
    let bytes = capture(
        4000,
        |i| {
            if i < 400 {
                (i % 4) as u8
            } else {
                1 + (i % 3) as u8
            }
        },
        Some(3000),
    );
    let cap = CaptureReader::new(bytes).expect("capture reads");
    assert!(cap.blocks().len() > 20, "{} blocks", cap.blocks().len());
    let fmt = "%evt.rawtime %evt.num %evt.type %evt.rawres";
    let f = "evt.type=openat";
    let (out, st) = read(&cap, &opts(f, fmt, None));
    assert_eq!(events(&out), reference(&cap, f, fmt, 0));
    assert_eq!(st.printed, 100);
    assert!(!st.stateful);
    // Only the blocks with openats, plus the one with the gap marker, are decoded.
    assert!(st.blocks_skipped > 10, "{st:?}");
    assert!(out.contains("--- 7 events lost"));
    // --from past every openat: nothing printed but the gap, almost nothing decoded.
    let from = 1_000 + 2_000 * 100;
    let (out, st) = read(&cap, &opts(f, fmt, Some(format!("+{}ns", from - 1_000))));
    assert_eq!(out, "--- 7 events lost on CPU 0 ---\n");
    assert_eq!(st.blocks_decoded, 1, "{st:?}");
    // With a field that needs the state, every block is decoded.
    let (out_state, st) = read(&cap, &opts(f, "%evt.rawtime %proc.name %fd.name", None));
    assert!(st.stateful && st.blocks_skipped == 0, "{st:?}");
    assert_eq!(
        out_state
            .lines()
            .filter(|l| l.contains(" app /etc/f"))
            .count(),
        100
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn skipping_matches_a_full_scan(
        kinds in proptest::collection::vec(0u8..4, 300..1500),
        types in proptest::sample::subsequence(vec!["openat", "read", "close", "getpid"], 1..3),
        from_frac in 0u64..100,
        drop in proptest::option::of(0usize..1500),
        negate in any::<bool>(),
    ) {
        let n = kinds.len() as u64;
        let bytes = capture(n, |i| kinds[i as usize], drop.map(|d| d as u64 % n));
        let cap = CaptureReader::new(bytes).expect("capture reads");
        let list = types.join(", ");
        let f = if negate {
            format!("not evt.type in ({list})")
        } else {
            format!("evt.type in ({list})")
        };
        let fmt = "%evt.rawtime %evt.num %evt.type";
        let from = 1_000 + n * 100 * from_frac / 100;
        let spec = format!("+{}ns", from - 1_000);
        let (out, st) = read(&cap, &opts(&f, fmt, Some(spec)));
        prop_assert_eq!(events(&out), reference(&cap, &f, fmt, from));
        prop_assert!(st.blocks_decoded + st.blocks_skipped <= cap.blocks().len() as u64);
    }
}

#[test]
fn scap_bare_codes_are_those_the_filter_cannot_match_and_the_state_ignores() {
    let sys = Syscalls::default_x86_64();
    let c = |n: &str| sys.codes(n)[0];
    let stateful = "%evt.num %proc.name %fd.name";
    // Open and close change fd tables: never bare; clock_gettime is.
    let b = scap_bare(&opts("evt.type=open", stateful, None));
    assert!(!b.contains(c("open")) && !b.contains(c("close")));
    assert!(b.contains(c("clock_gettime")) && b.contains(c("futex")));
    // Without state, whatever the filter cannot match.
    let b = scap_bare(&opts("evt.type=open", "%evt.num %evt.type", None));
    assert!(!b.contains(c("open")) && b.contains(c("close")));
    // A negation leaves only what it names.
    let b = scap_bare(&opts("not evt.type in (futex, close)", stateful, None));
    assert!(b.contains(c("futex")) && !b.contains(c("close")));
    assert!(!b.contains(c("clock_gettime")));
    // A filter on other fields can match any code: nothing is bare.
    assert!(scap_bare(&opts("proc.name=httpd", stateful, None)).is_empty());
    // Unless it needs an fd: then codes without one (and ignored) are.
    let b = scap_bare(&opts("proc.name=httpd and fd.type=file", stateful, None));
    assert!(b.contains(c("clock_gettime")) && b.contains(c("futex")));
    assert!(!b.contains(c("read")) && !b.contains(c("close")) && !b.contains(c("open")));
    let b = scap_bare(&opts(
        "fd.name contains x or (fd.num>2 and proc.pid=1)",
        stateful,
        None,
    ));
    assert!(b.contains(c("nanosleep")) && !b.contains(c("write")));
    for f in [
        "proc.name=httpd or fd.type=file",
        "not fd.type=file",
        "len(fd.name)>2",
    ] {
        assert!(scap_bare(&opts(f, stateful, None)).is_empty(), "{f}");
    }
    let none = ReadOptions {
        filter: None,
        ..opts("evt.type=open", stateful, None)
    };
    assert!(scap_bare(&none).is_empty());
}

/// What `read` prints for a `.scap` file streamed with `bare` codes.
fn streamed_read(b: &[u8], o: &ReadOptions, bare: crate::scap::Bare) -> String {
    let opts = crate::scap::ImportOptions {
        bare,
        ..crate::scap::ImportOptions::default()
    };
    let (_, _, out) = crate::scap::stream_records(b, opts, &mut |_| {}, |meta, recs| {
        let mut out = Vec::new();
        run_scap(meta, recs, o, bare, &mut out).expect("read runs");
        out
    })
    .expect("imports");
    String::from_utf8(out).expect("utf-8 output")
}

#[test]
fn bare_codes_never_change_what_a_streamed_read_prints() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/external");
    let filters = [
        "evt.type=open or evt.type=openat",
        "evt.type in (read, write) and fd.type=file",
        "not evt.type in (futex, clock_gettime, read, epoll_wait, mmap)",
        "evt.type=clock_gettime and proc.name contains o",
        "evt.type!=close and fd.num>=0",
        "evt.type=execve or evt.type=clone or proc.name=nginx",
        "evt.type=connect and fd.sip exists",
        // Codes without an fd are bare too.
        "proc.name=httpd and fd.type=file",
        "fd.name contains lib or (fd.num>2 and evt.type!=close)",
        "fd.typechar=f and not proc.name=nginx",
        "fd.name!=/etc/passwd",
    ];
    let formats = [
        "%evt.num %evt.time %proc.name (%thread.tid) %evt.type %evt.info",
        "%evt.num %evt.type %evt.args",
    ];
    let (mut bare_somewhere, mut printed) = (false, 0);
    for name in [
        "sf_mpm-event_full_capture.scap",
        "sf_objectstore_download.scap",
        "sf_nginx_nginx.scap",
        "curl_google.scap",
    ] {
        let b = match std::fs::read(format!("{dir}/{name}")) {
            Ok(b) => b,
            Err(e) => {
                assert!(std::env::var_os("CI").is_none(), "{name}: {e}");
                eprintln!("SKIP: {dir}/{name}: {e}");
                return;
            }
        };
        for f in filters {
            for fmt in formats {
                let o = opts(f, fmt, None);
                let bare = scap_bare(&o);
                bare_somewhere |= !bare.is_empty();
                let (with, without) = (
                    streamed_read(&b, &o, bare),
                    streamed_read(&b, &o, Default::default()),
                );
                assert_eq!(with, without, "{name} `{f}` `{fmt}`");
                printed += with.lines().count();
            }
        }
    }
    assert!(bare_somewhere && printed > 1000, "{printed}");
}
