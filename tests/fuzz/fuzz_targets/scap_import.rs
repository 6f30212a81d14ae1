//! Any bytes (plain, or gzip): import a scap capture and re-decode every
//! record it produced, read its container metadata and write it as a saker
//! capture; stream it (`import_into`, with a tiny reorder window) into a
//! capture that must open; take its records as they are converted
//! (`stream_records`): all of them, the same as the in-memory import's,
//! or a few before stopping early; with bare codes, the same records but
//! for those codes' args and params; must never panic. The error that ends
//! a plain file points inside it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saker::event::Record;
use saker::capture::WriterOptions;
use saker::scap::{
    containers, detect, import_into, import_with, stream_records, to_capture, Bare, FileKind,
    ImportOptions,
};

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions {
        max_decompressed: 64 << 20,
        ..ImportOptions::default()
    };
    let Ok(imp) = import_with(data, opts) else { return };
    let mut rest = &imp.records[..];
    while !rest.is_empty() {
        let (_, tail) = Record::parse(rest).expect("imported records are valid");
        rest = tail;
    }
    if let (FileKind::Scap, Some(off)) = (
        detect(data),
        imp.stats.truncation.as_ref().and_then(|e| e.offset()),
    ) {
        assert!(off <= data.len() as u64, "error offset {off} beyond the input");
    }
    let _ = containers(&imp.meta);
    let _ = to_capture(&imp, WriterOptions::default());
    let tiny = ImportOptions { window: 64, ..opts };
    if let Ok(st) = import_into(data, tiny, WriterOptions::default(), Vec::new()) {
        saker::capture::CaptureReader::new(st.out).expect("a streamed import opens");
    }
    let all = stream_records(data, tiny, &mut |_| {}, |_, r| {
        let mut v = Vec::new();
        while let Some(x) = r.next() {
            v.extend_from_slice(x);
        }
        v
    });
    if let (Ok((_, _, v)), Ok(m)) = (all, import_with(data, tiny)) {
        assert_eq!(v, m.records, "streamed records are the import's");
    }
    // Two passes on two threads (small inputs take the single pass).
    let two = ImportOptions { single_pass: 0, ..tiny };
    if let (Ok(a), Ok(b)) = (import_with(data, two), import_with(data, tiny)) {
        assert_eq!((a.records, a.stats), (b.records, b.stats), "one pass or two");
    }
    let _ = stream_records(data, tiny, &mut |_| {}, |_, r| {
        let _ = r.next();
        r.next().map(<[u8]>::len)
    });
    // Every other syscall code bare: only those records lose their body.
    let mut half = Bare::default();
    (0..1024).step_by(2).for_each(|c| half.insert(c));
    let bare = ImportOptions { bare: half, ..tiny };
    if let (Ok(a), Ok(b)) = (import_with(data, bare), import_with(data, tiny)) {
        let (mut x, mut y) = (&a.records[..], &b.records[..]);
        while let (Ok((r, xt)), Ok((f, yt))) = (Record::parse(x), Record::parse(y)) {
            if half.contains(f.code()) {
                let head = |r: &Record<'_>| (r.code(), r.ts(), r.tid(), r.pid(), r.ret());
                assert_eq!(head(&r), head(&f), "a bare record keeps its header");
                assert_eq!((r.nargs(), r.params().count()), (0, 0), "and nothing else");
            } else {
                assert_eq!(r.bytes(), f.bytes(), "other records are whole");
            }
            (x, y) = (xt, yt);
        }
        assert!(x.is_empty() && y.is_empty(), "as many records, bare or not");
    }
});
