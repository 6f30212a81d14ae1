//! Tests over the real captures in ../shared/captures/external.

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/external");

/// (file, raw events) from MANIFEST.md.
pub(super) const EXPECTED: &[(&str, u64)] = &[
    ("cat_write.scap", 345),
    ("connect_localhost.scap", 374),
    ("curl_google.scap", 1536),
    ("curl_google_comments.scap", 1536),
    ("empty.scap", 143),
    ("empty_2016.scap", 83),
    ("open-multiple-files.scap", 1272),
    ("ping_sendto.scap", 1526),
    ("psp_privileged.scap", 2059),
    ("psp_run_as_user_0_container.scap", 4143),
    ("psp_run_as_user_65534_container.scap", 241),
    ("psp_write_tmp_test.scap", 229),
    ("sample.scap", 572),
    ("sf_alpine_alpine.scap", 8840),
    ("sf_client-server_tcp-client-server.scap", 2302),
    ("sf_files_files.scap", 2186),
    ("sf_files_filesat.scap", 1697),
    ("sf_mpm-event_full_capture.scap", 35860),
    ("sf_mpm-preforked_cold_start_capture.scap", 2388),
    ("sf_namespaces_setns.scap", 9947),
    ("sf_nginx_nginx.scap", 29925),
    ("sf_objectstore_download.scap", 20306),
    ("sf_rename_rename.scap", 4525),
    ("sf_setuid_setuid.scap", 1973),
    ("single_ipv6_conn.scap", 1728),
    ("syscall.scap", 368),
    ("test_ipv6_client.scap", 326),
];

/// An external capture; `None` (a skip, saying why) only outside CI.
pub(super) fn read(name: &str) -> Option<Vec<u8>> {
    match std::fs::read(format!("{DIR}/{name}")) {
        Ok(b) => Some(b),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{DIR}/{name}: {e} (the external captures must be present in CI)"
            );
            eprintln!("SKIP: {DIR}/{name}: {e}");
            None
        }
    }
}

#[test]
fn every_external_file_imports_with_manifest_counts() {
    let listed: std::collections::BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".scap"))
        .collect();
    let expected: std::collections::BTreeSet<String> =
        EXPECTED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        listed, expected,
        "the corpus changed: update EXPECTED from MANIFEST.md"
    );
    for (name, raw) in EXPECTED {
        let bytes = read(name).unwrap();
        let imp = import(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = &imp.stats;
        assert_eq!(s.truncation, None, "{name}");
        assert_eq!(s.raw_events, *raw, "{name}: raw events");
        // Every record decodes, in time order.
        let mut rest = &imp.records[..];
        let (mut n, mut last) = (0u64, 0u64);
        while !rest.is_empty() {
            let (r, tail) = crate::event::Record::parse(rest).unwrap();
            assert!(r.ts() >= last, "{name}: records out of order");
            last = r.ts();
            n += 1;
            rest = tail;
        }
        assert_eq!(n, s.records, "{name}");
        eprintln!("{name}: raw {} records {} paired {} unfinished {} exit-only {} unmapped {:?} internal {:?} flags_dropped {} unknown_threads {}",
            s.raw_events, s.records, s.paired, s.unfinished, s.exit_without_enter, s.unmapped, s.internal, s.flags_dropped, s.unknown_threads);
    }
}

/// The records of an import, in order.
pub(super) fn records(imp: &ScapImport) -> Vec<crate::event::Record<'_>> {
    split_records(&imp.records)
}

/// Concatenated wire records split at their boundaries.
pub(super) fn split_records(mut rest: &[u8]) -> Vec<crate::event::Record<'_>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (r, tail) = crate::event::Record::parse(rest).unwrap();
        out.push(r);
        rest = tail;
    }
    out
}

/// libs CI asserts the editcap-rewritten copy (SHB options, trailing block
/// options) decodes exactly like the original.
#[test]
fn curl_google_comments_equals_curl_google() {
    let (Some(a), Some(b)) = (read("curl_google.scap"), read("curl_google_comments.scap")) else {
        return;
    };
    let (a, b) = (import(&a).unwrap(), import(&b).unwrap());
    assert!(a.stats.records > 500);
    assert_eq!(a.records, b.records);
    assert_eq!(a.meta.snapshot, b.meta.snapshot);
    assert_eq!(a.meta.machine, b.meta.machine);
    // The raw event streams too (cpu, ts, tid, type, params).
    let ra = gunzip(&read("curl_google.scap").unwrap(), 1 << 30).unwrap();
    let rb = gunzip(&read("curl_google_comments.scap").unwrap(), 1 << 30).unwrap();
    let ea: Vec<_> = events(&ra)
        .map(|e| e.map(|e| (e.cpu, e.ts, e.tid, e.etype, e.params)))
        .collect();
    let eb: Vec<_> = events(&rb)
        .map(|e| e.map(|e| (e.cpu, e.ts, e.tid, e.etype, e.params)))
        .collect();
    assert_eq!(ea.len(), 1536);
    assert_eq!(ea, eb);
}

/// Cutting an uncompressed file anywhere keeps every event block that ends
/// before the cut and reports an offset at or before it.
#[test]
fn truncated_copies_import_up_to_the_cut() {
    let Some(full) = read("sample.scap") else {
        return;
    };
    // Offsets where each event block ends.
    let mut ends = Vec::new();
    for b in block::Blocks::new(&full) {
        let b = b.unwrap();
        if block::is_event_block(b.btype) {
            ends.push(b.offset as usize + b.body.len() + 12);
        }
    }
    let total = import(&full).unwrap();
    let mut cut = 29;
    let mut seen_partial = 0;
    while cut < full.len() {
        let imp = import(&full[..cut]).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let whole = ends.iter().filter(|&&e| e <= cut).count() as u64;
        assert_eq!(imp.stats.raw_events, whole, "cut {cut}");
        let at_boundary = cut == 0 || ends.contains(&cut);
        match &imp.stats.truncation {
            Some(e) => {
                let off = e.offset().unwrap();
                assert!(off <= cut as u64, "cut {cut}: {e}");
                assert!(e.to_string().contains("truncated"), "cut {cut}: {e}");
            }
            None => assert!(at_boundary, "cut {cut} not reported"),
        }
        assert!(imp.stats.records <= total.stats.records + imp.stats.unfinished);
        // Past half the events, records are there (the first raw events of
        // a file may all be internal ones, procinfo and the like).
        if whole * 2 > ends.len() as u64 {
            assert!(
                imp.stats.records > 0,
                "cut {cut}: no records for {whole} events"
            );
        }
        seen_partial += usize::from(whole > 0 && whole < ends.len() as u64);
        cut += 1009;
    }
    assert!(seen_partial > 20);
    // A cut gzip file: the decompressed prefix is imported, the gzip error reported.
    let gz = read("curl_google.scap").unwrap();
    let imp = import(&gz[..gz.len() * 2 / 3]).unwrap();
    assert!(imp.stats.raw_events > 100 && imp.stats.raw_events < 1536);
    assert!(imp.stats.truncation.is_some());
}

#[test]
fn not_scap_is_an_error() {
    assert!(matches!(import(b"hello"), Err(ScapError::NotScap { .. })));
    assert!(matches!(
        import(b"SAKERCAP...."),
        Err(ScapError::NotScap { .. })
    ));
    assert!(matches!(import(b""), Err(ScapError::NotScap { .. })));
}

/// What the records say, spot-checked against sysdig's view of cat_write.scap
/// (`sysdig -r cat_write.scap -p '%evt.type %evt.args' evt.type=open`).
#[test]
fn cat_write_semantics() {
    let Some(b) = read("cat_write.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let sys = Syscalls::default_x86_64();
    let recs = records(&imp);
    let open = sys.codes("open")[0];
    let opens: Vec<_> = recs.iter().filter(|r| r.code() == open).collect();
    assert_eq!(opens.len(), 4, "sysdig shows 4 open pairs");
    let first = opens[0];
    assert_eq!(first.param(0).unwrap().data, b"/etc/ld.so.cache");
    assert_eq!(
        first.arg(1),
        Some((libc::O_RDONLY | libc::O_CLOEXEC) as u64)
    );
    assert_eq!(first.ret(), 3);
    assert!(first.enter_ts().is_some_and(|t| t < first.ts()));
    // The capture starts with cat's execve exit: an EXEC record with argv.
    let exec = recs
        .iter()
        .find(|r| r.code() == crate::event::wire::CODE_EXEC)
        .unwrap();
    let argv = exec.param(crate::event::wire::exec::P_ARGV).unwrap().data;
    assert!(
        argv.starts_with(b"cat\0"),
        "{:?}",
        String::from_utf8_lossy(argv)
    );
    assert_eq!(argv, b"cat\0/dev/null");
    let last = opens[3];
    assert_eq!(last.param(0).unwrap().data, b"/dev/null");
    assert_eq!(last.arg(1), Some(libc::O_RDONLY as u64));
    // Records are stamped with epoch ns and the offset is 0.
    assert_eq!(imp.meta.machine.boottime_to_epoch_ns, 0);
    assert!(recs.iter().all(|r| r.ts() > 1_470_000_000_000_000_000));
    assert_eq!(imp.meta.config.producer, PRODUCER);
    assert_eq!(imp.meta.machine.hostname, "ubuntu");
    assert_eq!(
        imp.meta.snapshot.procs.len(),
        73,
        "sysdig -c ps shows 73 rows"
    );
}

/// connect_localhost.scap: a non-blocking connect to 127.0.0.1:80.
#[test]
fn connect_sockaddr() {
    let Some(b) = read("connect_localhost.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let code = Syscalls::default_x86_64().codes("connect")[0];
    let recs = records(&imp);
    let c = recs.iter().find(|r| r.code() == code).unwrap();
    assert_eq!(c.ret(), -(libc::EINPROGRESS as i64));
    let sa = c.param(1).unwrap();
    assert_eq!(sa.kind(), Some(crate::event::ParamKind::Sockaddr));
    assert_eq!(
        crate::state::sockaddr::parse(sa.data),
        Some(crate::state::SockAddr::Ip("127.0.0.1:80".parse().unwrap()))
    );
}

/// Namespace flags survive the import: clone's `flags` and unshare's
/// `flags` (PPM_CL_* in scap) become the kernel's CLONE_* bits in our
/// records' clone_flags/unshare_flags args; fcntl's cmd its F_* value.
#[test]
fn clone_unshare_and_fcntl_args() {
    let Some(b) = read("sf_mpm-event_full_capture.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let sys = Syscalls::default_x86_64();
    let recs = records(&imp);
    let first = |name: &str, pred: &dyn Fn(&crate::event::Record<'_>) -> bool| {
        let code = sys.codes(name)[0];
        recs.iter()
            .find(|r| r.code() == code && pred(r))
            .and_then(|r| r.arg(0))
    };
    let thread = (libc::CLONE_THREAD | libc::CLONE_VM) as u64;
    let cl = first("clone", &|r| r.ret() > 0).unwrap();
    assert_eq!(
        cl & libc::CLONE_PARENT as u64,
        libc::CLONE_PARENT as u64,
        "{cl:#x}"
    );
    assert!(first("clone", &|r| r.arg(0).is_some_and(|f| f & thread == thread)).is_some());
    let un = first("unshare", &|_| true).unwrap();
    assert_ne!(un & libc::CLONE_NEWPID as u64, 0, "{un:#x}");
    let Some(b) = read("sf_alpine_alpine.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let code = sys.codes("fcntl")[0];
    let cmds: std::collections::BTreeSet<u64> = records(&imp)
        .iter()
        .filter(|r| r.code() == code)
        .filter_map(|r| r.arg(1))
        .collect();
    assert!(cmds.contains(&(libc::F_SETFD as u64)), "{cmds:?}");
    assert!(cmds.contains(&(libc::F_DUPFD_CLOEXEC as u64)), "{cmds:?}");
    assert!(!cmds.contains(&(libc::F_DUPFD as u64)), "{cmds:?}");
}

/// The import round-trips through our capture format.
#[test]
fn to_capture_round_trip() {
    let Some(b) = read("sf_setuid_setuid.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let bytes = to_capture(&imp, crate::capture::WriterOptions::default()).unwrap();
    let r = crate::capture::CaptureReader::new(bytes).unwrap();
    assert_eq!(r.meta().config.producer, PRODUCER);
    assert_eq!(r.meta().snapshot, imp.meta.snapshot);
    assert!(r.meta().extra.iter().any(|(k, _)| *k == KIND_SCAP));
    let mut c = r.cursor();
    let mut out = Vec::new();
    while let Some(e) = c.next() {
        out.extend_from_slice(e.unwrap().1.bytes());
    }
    assert_eq!(out, imp.records);
    assert!(imp.meta.snapshot.procs.iter().any(|p| !p.fds.is_empty()));
    let extra: ScapExtra = serde_json::from_slice(&imp.meta.extra[0].1).unwrap();
    assert_eq!(extra.containers.len(), 2);
    assert!(!extra.interfaces.is_empty());
}

/// The imported records drive our state engine: after cat's last open the
/// process has the exec'd argv and fd 3 is /dev/null.
#[test]
fn cat_write_drives_state() {
    let Some(b) = read("cat_write.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let mut st = crate::state::State::from_capture(&imp.meta.syscalls, &imp.meta.snapshot);
    let open = Syscalls::default_x86_64().codes("open")[0];
    let recs = records(&imp);
    let last_open = recs.iter().rposition(|r| r.code() == open).unwrap();
    for r in &recs[..=last_open] {
        st.apply(r);
    }
    let pid = recs[last_open].pid();
    let p = st.process(pid).expect("cat is known");
    let argv: Vec<&str> = p.argv.iter().map(|a| &**a).collect();
    assert_eq!(argv, ["cat", "/dev/null"]);
    assert_eq!(&*st.fd(pid, 3).expect("fd 3").name, "/dev/null");
    // Its parent is bash, from the process list.
    let parent = st.process(p.ppid).expect("parent in snapshot");
    assert_eq!(&*parent.argv[0], "/bin/bash");
}

/// Every syscall event of the corpus maps onto our table: no record is
/// lost for want of a syscall code.
#[test]
fn no_unmapped_syscalls() {
    for (name, _) in EXPECTED {
        let Some(b) = read(name) else { return };
        let imp = import(&b).unwrap();
        assert!(
            imp.stats.unmapped.is_empty(),
            "{name}: unmapped {:?}",
            imp.stats.unmapped
        );
    }
}

/// Lone enters stay visible as unfinished records, exactly as many as
/// sysdig 0.29.3 shows enters without exits (`sysdig -r F -p '%evt.type
/// %evt.dir'`, counted per type): read> 4470 vs read< 4467, epoll_wait 81
/// vs 78, futex 512 vs 437, select 5 vs 4, and exit (3), exit_group (2) and
/// sigreturn (1), which never return.
#[test]
fn unfinished_counts_match_lone_enters() {
    let Some(b) = read("sf_mpm-event_full_capture.scap") else {
        return;
    };
    let imp = import(&b).unwrap();
    let sys = Syscalls::default_x86_64();
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    for r in records(&imp) {
        if r.flags() & crate::event::wire::F_UNFINISHED != 0 {
            *by.entry(sys.name(r.code()).into_owned()).or_default() += 1;
        }
    }
    let want: std::collections::BTreeMap<String, u64> = [
        ("epoll_wait", 3),
        ("exit", 3),
        ("exit_group", 2),
        ("futex", 75),
        ("read", 3),
        ("rt_sigreturn", 1),
        ("select", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(by, want);
    assert_eq!(imp.stats.unfinished, 88);
}

#[test]
fn internal_events_are_counted_by_name() {
    // nginx: mostly scheduler switches, which the import does not keep.
    let Some(b) = read("sf_nginx_nginx.scap") else {
        return;
    };
    let mut want = Counts::new();
    for e in events(&b) {
        let info = e.unwrap().info();
        if info.flags & events_table::ef::UNUSED == 0
            && info.category & events_table::ec::SYSCALL == 0
        {
            *want.entry(info.name.to_string()).or_default() += 1;
        }
    }
    assert!(want.values().sum::<u64>() > 20_000, "{want:?}");
    let imp = import(&b).unwrap();
    assert_eq!(imp.stats.internal, want);
    // The metadata's count (the first pass's) is the same.
    let (_, extra) = imp
        .meta
        .extra
        .iter()
        .find(|(k, _)| *k == KIND_SCAP)
        .unwrap();
    let extra: ScapExtra = serde_json::from_slice(extra).unwrap();
    assert_eq!(extra.internal_events, want);
}
