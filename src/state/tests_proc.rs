//! Scenario tests of process state (credentials, exit, imported captures,
//! lazy threads, ancestry) and checkpoint/replay equivalence proptests.

use proptest::prelude::*;

use super::sockaddr::AF_INET;
use super::tests::*;
use super::*;
use crate::event::meta::Snapshot;
use crate::event::wire::{self, ParamKind, Record, RecordBuilder};

#[test]
fn setuid_family() {
    let mut st = state();
    run(&mut st, fork_rec(100, 100, 500, 500, 0));
    // Non-root setuid only changes the effective uid.
    run(&mut st, sc(SETUID, 500, 0, &[0]));
    let c = st.process(500).unwrap().creds;
    assert_eq!((c.uid, c.euid), (1000, 0));
    // Now euid 0: setuid sets all three.
    run(&mut st, sc(SETUID, 500, 0, &[33]));
    let c = st.process(500).unwrap().creds;
    assert_eq!((c.uid, c.euid, c.suid), (33, 33, 33));
    // Failed calls are ignored; -1 means unchanged.
    run(&mut st, sc(SETUID, 500, -1, &[0]));
    run(
        &mut st,
        sc(SETRESUID, 500, 0, &[u64::MAX, 7, u64::from(u32::MAX)]),
    );
    let c = st.process(500).unwrap().creds;
    assert_eq!((c.uid, c.euid, c.suid), (33, 7, 33));
    assert_eq!(
        st.process(100).unwrap().creds.euid,
        1000,
        "parent unaffected"
    );
}

#[test]
fn exit_reparents_and_lingers_one_event() {
    let mut st = state();
    run(&mut st, sc(PRCTL, 100, 0, &[36, 1]));
    run(&mut st, fork_rec(100, 100, 200, 200, 0));
    run(&mut st, fork_rec(200, 200, 300, 300, 0));
    let exit = RecordBuilder::new(wire::CODE_EXIT, 0, 7, 200, 200, 0).args(&[256, 1]);
    run(&mut st, exit);
    assert_eq!(
        st.process(200).unwrap().exit_status,
        Some(256),
        "visible for the exit event"
    );
    run(&mut st, sc(CLOSE, 100, -9, &[77]));
    assert!(st.process(200).is_none());
    assert!(st.thread(200).is_none());
    assert_eq!(
        st.process(300).unwrap().ppid,
        100,
        "reparented to the subreaper"
    );
    assert_eq!(st.tree().get(&100), Some(&vec![300]));
}

#[test]
fn imported_clone_and_execve_without_special_records() {
    let mut st = state();
    // Parent's clone exit: the child is created from the parent.
    run(&mut st, sc(CLONE, 100, 600, &[0x11, 0, 0, 0, 0]));
    assert_eq!(st.process(600).unwrap().ppid, 100);
    assert_eq!(name(&st, 600, 0).as_deref(), Some("/dev/pts/0"));
    // Child ran first: its lazy state is merged when the parent's exit arrives.
    run(&mut st, sc(CLONE, 601, 0, &[0x11, 0, 0, 0, 0]));
    assert!(st.thread(601).unwrap().lazy);
    run(&mut st, openat(601, 3, AT_FDCWD, "/early", 0));
    run(&mut st, sc(CLONE, 100, 601, &[0x11, 0, 0, 0, 0]));
    assert!(!st.thread(601).unwrap().lazy);
    assert_eq!(st.process(601).unwrap().ppid, 100);
    assert_eq!(name(&st, 601, 3).as_deref(), Some("/early"));
    assert_eq!(name(&st, 601, 1).as_deref(), Some("/dev/pts/0"));
    // execve exit without an EXEC record.
    let ex = sc(EXECVE, 600, 0, &[0, 0, 0])
        .param(0, ParamKind::Str, b"/usr/bin/curl")
        .param(1, ParamKind::Argv, b"curl\0-s\0x\0");
    run(&mut st, ex);
    let p = st.process(600).unwrap();
    assert_eq!(
        (p.exe(), &*p.exepath, p.args().len()),
        ("curl", "/usr/bin/curl", 2)
    );
    assert_eq!(&*st.thread(600).unwrap().comm, "curl");
    // With an EXEC record, the execve exit does not override it.
    run(&mut st, exec_rec(601, &["real"], "/opt/real"));
    let ex = sc(EXECVE, 601, 0, &[0, 0, 0]).param(0, ParamKind::Str, b"/tmp/link");
    run(&mut st, ex);
    assert_eq!(&*st.process(601).unwrap().exepath, "/opt/real");
}

/// Once the stream has FORK records, a clone exit creates no thread: a
/// caller the state knows nothing of (lazy, vtid unknown) may be inside a
/// pid namespace, where the return value is the child's tid there.
#[test]
fn clone_exits_do_not_stand_in_for_fork_records() {
    let mut st = state();
    run(&mut st, fork_rec(100, 100, 200, 200, 0));
    run(&mut st, sc(CLONE, 700, 441, &[0x11, 0, 0, 0, 0]));
    assert!(st.thread(700).unwrap().lazy);
    assert!(st.thread(441).is_none(), "no thread from a namespace tid");
    // The FORK-made child of a lazy caller keeps its namespace ids when the
    // caller's clone exit follows.
    let v = RecordBuilder::new(wire::CODE_FORK, 0, 9, 700, 700, 0).args(&[710, 710, 0, 1, 1]);
    run(&mut st, v);
    run(&mut st, sc(CLONE, 700, 710, &[0x11, 0, 0, 0, 0]));
    assert_eq!(st.thread(710).unwrap().vtid, 1);
}

/// An exited thread stays for its exit record, but is not running.
#[test]
fn live_threads_leave_out_exits() {
    let mut st = state();
    run(&mut st, fork_rec(100, 100, 200, 200, 0));
    let exit = RecordBuilder::new(wire::CODE_EXIT, 0, 7, 200, 200, 0).args(&[0, 1]);
    run(&mut st, exit);
    assert!(st.thread(200).is_some());
    let live: Vec<u32> = st.live_threads().iter().map(|t| t.tid).collect();
    assert!(live.contains(&100) && !live.contains(&200), "{live:?}");
}

#[test]
fn lazy_threads_and_prctl_name() {
    let mut st = state();
    run(
        &mut st,
        sct(OPENAT, 901, 900, 3, &[AT_FDCWD, 0, 0, 0]).param(1, ParamKind::Str, b"/a"),
    );
    assert!(st.thread(901).unwrap().lazy);
    assert!(st.process(900).unwrap().lazy);
    assert_eq!(name(&st, 900, 3).as_deref(), Some("/a"));
    assert_eq!(st.stats().lazy_threads, 1);
    run(
        &mut st,
        sct(PRCTL, 901, 900, 0, &[15, 0]).param(1, ParamKind::Str, b"worker-thread-name-long"),
    );
    assert_eq!(&*st.thread(901).unwrap().comm, "worker-thread-n");
}

#[test]
fn ancestry_cycles_terminate() {
    let snap = Snapshot {
        procs: vec![
            proc_info(10, 10, 11, "a"),
            proc_info(11, 11, 10, "b"),
            proc_info(12, 12, 12, "c"),
        ],
        ..Snapshot::default()
    };
    let st = State::new(ops(), &snap);
    assert_eq!(
        st.ancestors(10).map(|p| p.pid).collect::<Vec<_>>(),
        vec![11]
    );
    assert_eq!(st.ancestors(12).count(), 0);
    assert_eq!(st.children(12), Vec::<u32>::new());
}

#[test]
fn checkpoints_match_full_replay_simple() {
    let recs: Vec<Vec<u8>> = (0..50)
        .map(|i| openat(100, 3 + i % 5, AT_FDCWD, &format!("/f{i}"), 0).build())
        .collect();
    let mut cps = Checkpoints::new(state(), 7).unwrap();
    for r in &recs {
        cps.push(&Record::parse(r).unwrap().0);
    }
    assert_eq!(cps.len(), 1 + 50 / 7);
    let src = |k: u64| recs[k as usize..].iter().map(Ok::<_, std::io::Error>);
    for n in [0, 1, 6, 7, 8, 22, 49, 50] {
        let mut full = state();
        for r in &recs[..n as usize] {
            full.apply(&Record::parse(r).unwrap().0);
        }
        assert_eq!(cps.state_at(n, src).unwrap(), full, "n={n}");
    }
    let short = cps.state_at(40, |_| recs[..2].iter().map(Ok::<_, std::io::Error>));
    assert!(matches!(short, Err(StateError::ShortReplay { .. })));
    assert!(matches!(
        Checkpoints::new(state(), 0),
        Err(StateError::ZeroInterval { .. })
    ));
}

/// A small alphabet of records touching every kind of state change.
fn arb_record() -> impl Strategy<Value = Vec<u8>> {
    let tid = prop_oneof![Just(100u32), Just(101), Just(200), Just(201), Just(300)];
    (0u8..12, tid, 0i64..12, 0u64..12, 0u64..12).prop_map(|(k, tid, ret, a, b)| {
        let pid = if tid % 100 == 1 { tid - 1 } else { tid };
        let r = |code, args: &[u64]| sct(code, tid, pid, ret, args);
        match k {
            0 => r(OPENAT, &[AT_FDCWD, 0, 0, 0]).param(
                1,
                ParamKind::Str,
                format!("d{a}/f{b}").as_bytes(),
            ),
            1 => r(CLOSE, &[a]),
            2 => r(DUP2, &[a, b]),
            3 => fork_rec(
                tid,
                pid,
                200 + (a as u32 % 2),
                200,
                if b % 2 == 0 { 0 } else { 0x10f00 },
            ),
            4 => RecordBuilder::new(wire::CODE_EXIT, 0, 1, tid, pid, 0).args(&[a, b % 2]),
            5 => r(CHDIR, &[0]).param(0, ParamKind::Str, format!("/d{a}").as_bytes()),
            6 => r(SOCKET, &[u64::from(AF_INET), 1, 0]),
            7 => r(CONNECT, &[a, 0, 16]).param(
                1,
                ParamKind::Sockaddr,
                &inet4([10, 0, 0, b as u8], 80),
            ),
            8 => exec_rec(tid, &["p", "q"], "/bin/p"),
            9 => r(PIPE2, &[0, b << 19]).param(
                0,
                ParamKind::Struct,
                &[a as u8, 0, 0, 0, b as u8, 0, 0, 0],
            ),
            10 => r(SETUID, &[a]),
            _ => r(CLONE, &[if b % 2 == 0 { 0x11 } else { 0x10f00 }]),
        }
        .build()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn checkpoints_equal_full_replay(recs in prop::collection::vec(arb_record(), 0..80), interval in 1u64..10, n_frac in 0.0f64..=1.0) {
        let mut cps = Checkpoints::new(state(), interval).unwrap();
        for r in &recs {
            cps.push(&Record::parse(r).unwrap().0);
        }
        let n = (recs.len() as f64 * n_frac) as u64;
        let mut full = state();
        for r in &recs[..n as usize] {
            full.apply(&Record::parse(r).unwrap().0);
        }
        let got = cps.state_at(n, |k| recs[k as usize..].iter().map(Ok::<_, std::io::Error>)).unwrap();
        prop_assert_eq!(&got, &full);
        let got = cps.state_at_with(n, |k, visit| {
            for r in &recs[k as usize..] {
                if !visit(&Record::parse(r).unwrap().0) {
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        }).unwrap();
        prop_assert_eq!(got, full);
        // Every process's thread count matches the thread table.
        let st = cps.current();
        for p in st.processes() {
            prop_assert_eq!(p.nthreads as usize, st.threads_of(p.pid).len());
        }
        for t in st.threads() {
            prop_assert!(st.process(t.pid).is_some());
        }
        for (ppid, n) in &st.nchildren {
            prop_assert_eq!(*n as usize, st.processes().filter(|p| p.ppid == *ppid).count());
        }
        prop_assert_eq!(st.nchildren.values().map(|n| *n as usize).sum::<usize>(), st.procs.len());
    }

    /// While [`State::epoch`] stays, no thread, process or user changes.
    #[test]
    fn epoch_changes_with_threads_and_processes(recs in prop::collection::vec(arb_record(), 0..80)) {
        let mut st = state();
        let view = |st: &State| {
            let mut t: Vec<Thread> = st.threads().cloned().collect();
            t.sort_by_key(|t| t.tid);
            let mut p: Vec<Process> = st.processes().cloned().collect();
            p.sort_by_key(|p| p.pid);
            let u: Vec<_> = (0..12).map(|id| (st.user(id).cloned(), st.group(id).cloned())).collect();
            (t, p, u)
        };
        for r in &recs {
            let (before, epoch) = (view(&st), st.epoch());
            st.apply(&Record::parse(r).unwrap().0);
            if st.epoch() == epoch {
                prop_assert_eq!(view(&st), before);
            }
        }
    }

    /// The lookup caches change nothing: a state that starts every record
    /// with empty caches (a clone) ends equal.
    #[test]
    fn caches_change_nothing(recs in prop::collection::vec(arb_record(), 0..80)) {
        let (mut warm, mut cold) = (state(), state());
        for r in &recs {
            let r = Record::parse(r).unwrap().0;
            let a = warm.apply(&r);
            cold = cold.clone();
            prop_assert_eq!(a, cold.apply(&r));
            prop_assert_eq!(&warm, &cold);
        }
        for p in warm.processes() {
            prop_assert_eq!(warm.fd_table(p.pid), cold.fd_table(p.pid));
        }
    }

    #[test]
    fn hostile_records_never_panic(
        recs in prop::collection::vec(
            (any::<u16>(), any::<u8>(), any::<u32>(), any::<u32>(), any::<i64>(),
             prop::collection::vec(any::<u64>(), 0..8),
             prop::collection::vec((0u8..8, 1u8..7, prop::collection::vec(any::<u8>(), 0..40)), 0..3)),
            0..40)
    ) {
        let mut st = state();
        for (code, flags, tid, pid, ret, args, params) in recs {
            let code = code % 1100;
            let mut b = RecordBuilder::new(code, 0, 0, tid % 8, pid % 8, ret).flags(flags & !wire::F_ENTER_TS).args(&args);
            for (idx, kind, data) in params {
                let kind = ParamKind::from_u8(kind).unwrap_or(ParamKind::Buf);
                b = b.param(idx, kind, &data);
            }
            let bytes = b.build();
            if let Ok((r, _)) = Record::parse(&bytes) {
                st.apply(&r);
            }
        }
        for p in st.processes() {
            prop_assert_eq!(p.nthreads as usize, st.threads_of(p.pid).len());
        }
        prop_assert_eq!(st.nchildren.values().map(|n| *n as usize).sum::<usize>(), st.procs.len());
    }
}

#[test]
fn sessions_unshare_and_compat() {
    let mut st = state();
    run(
        &mut st,
        fork_rec(100, 100, 700, 700, ops::CLONE_FILES | ops::CLONE_FS),
    );
    run(&mut st, sc(SETSID, 700, 700, &[]));
    let p = st.process(700).unwrap();
    assert_eq!((p.sid, p.pgid), (700, 700));
    run(&mut st, sc(SETPGID, 700, 0, &[0, 100]));
    assert_eq!(st.process(700).unwrap().pgid, 100);
    // unshare(CLONE_FILES | CLONE_FS) stops the sharing with the parent.
    run(
        &mut st,
        sc(UNSHARE, 700, 0, &[ops::CLONE_FILES | ops::CLONE_FS]),
    );
    run(
        &mut st,
        sc(CHDIR, 700, 0, &[0]).param(0, ParamKind::Str, b"/srv"),
    );
    assert_eq!(st.cwd(100), Some("/home/u"));
    // A compat (ia32) openat uses the same semantics at code 512 + nr.
    let e = run(
        &mut st,
        sc(COMPAT_OPENAT, 700, 3, &[AT_FDCWD, 0, 0, 0]).param(1, ParamKind::Str, b"data"),
    );
    assert_eq!(
        e.fd.map(|(_, e)| e.name.to_string()),
        Some("/srv/data".into())
    );
    assert_eq!(st.fd(100, 3), None);
}

#[test]
fn checkpoints_before_start_and_from_capture() {
    let mut st = State::from_capture(&table(), &snapshot());
    assert_eq!(st, state());
    for i in 0..3 {
        run(&mut st, openat(100, 3 + i, AT_FDCWD, "/x", 0));
    }
    let cps = Checkpoints::new(st, 5).unwrap();
    let none = || std::iter::empty::<Result<Vec<u8>, std::io::Error>>();
    assert!(matches!(
        cps.state_at(1, |_| none()),
        Err(StateError::BeforeStart {
            wanted: 1,
            first: 3
        })
    ));
    assert_eq!(cps.state_at(3, |_| none()).unwrap().applied(), 3);
    assert!(matches!(
        cps.state_at(4, |_| none()),
        Err(StateError::ShortReplay { wanted: 4, got: 3 })
    ));
    let short = cps.state_at_with(4, |_, _| Ok::<_, std::io::Error>(()));
    assert!(matches!(
        short,
        Err(StateError::ShortReplay { wanted: 4, got: 3 })
    ));
    let failed = cps.state_at_with(4, |_, _| Err(std::io::Error::other("disk")));
    assert!(matches!(failed, Err(StateError::Source { index: 3, .. })));
    let bad = cps.state_at(4, |_| {
        std::iter::once(Ok::<_, std::io::Error>(vec![1u8, 2]))
    });
    assert!(matches!(bad, Err(StateError::BadRecord { index: 3, .. })));
}

#[test]
fn without_fds_same_threads_and_processes() {
    let mut full = state();
    let mut lean = state().without_fds();
    let recs = [
        fork_rec(100, 100, 200, 200, 0),
        openat(200, 3, AT_FDCWD, "/etc/hosts", 0),
        sc(DUP2, 200, 5, &[3, 5]),
        exec_rec(200, &["cat", "-n", "f"], "/usr/bin/cat"),
        sc(CLOSE, 200, 0, &[3]),
        fork_rec(200, 200, 201, 201, 0),
    ];
    for r in recs {
        let b = r.build();
        let (rec, _) = Record::parse(&b).unwrap();
        full.apply(&rec);
        assert_eq!(lean.apply(&rec), Effect::default());
    }
    let view = |st: &State| {
        let mut v: Vec<(u32, u32, String, String)> = st
            .threads()
            .map(|t| {
                let p = st.process(t.pid).unwrap();
                (t.tid, p.ppid, t.comm.to_string(), p.exepath.to_string())
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(view(&lean), view(&full));
    assert_eq!(name(&full, 200, 5).as_deref(), Some("/etc/hosts"));
    assert_eq!(name(&lean, 200, 5), None);
    assert_eq!(name(&lean, 200, 1).as_deref(), Some("/dev/pts/0")); // snapshot's
                                                                    // execveat can name a program by an fd: those captures keep fds.
    assert!(ops().procs_read_fds(EXECVEAT));
    assert!(!ops().procs_read_fds(EXECVE) && !ops().procs_read_fds(OPENAT));
}
