//! Synthetic scap files built block by block: drop markers, unknown and
//! metadata blocks around the events, state-only EVF events, prctl and
//! execve params, truncated and multi-member gzip input, old PL versions.

use super::block::bt;
use super::detect::{SHB_MAGIC, SHB_TYPE};
use super::tests::records;
use super::*;
use crate::event::wire::{exec, CODE_DROP, CODE_EXEC};
use crate::event::{ParamKind, Record};

/// A framed block, body padded to 4 bytes.
pub(super) fn block(t: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().div_ceil(4) * 4, 0);
    let total = (12 + body.len()) as u32;
    let mut v = t.to_le_bytes().to_vec();
    v.extend_from_slice(&total.to_le_bytes());
    v.extend_from_slice(&body);
    v.extend_from_slice(&total.to_le_bytes());
    v
}

/// A section header block, version 1.2.
pub(super) fn shb() -> Vec<u8> {
    let mut b = SHB_MAGIC.to_le_bytes().to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    block(SHB_TYPE, &b)
}

/// A v2 event (`EV_V2`, or `EVF_V2` when `flags` is given) with u16 lengths.
pub(super) fn ev(etype: u16, ts: u64, tid: u64, flags: Option<u32>, params: &[&[u8]]) -> Vec<u8> {
    ev_lens(etype, ts, tid, flags, params, false)
}

/// [`ev`] with u32 param lengths when `large` (the `EF_LARGE_PAYLOAD`
/// layout), u16 ones otherwise.
fn ev_lens(
    etype: u16,
    ts: u64,
    tid: u64,
    flags: Option<u32>,
    params: &[&[u8]],
    large: bool,
) -> Vec<u8> {
    let w = if large { 4 } else { 2 };
    let mut e = ts.to_le_bytes().to_vec();
    e.extend_from_slice(&tid.to_le_bytes());
    let len = 26 + w * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    e.extend_from_slice(&(len as u32).to_le_bytes());
    e.extend_from_slice(&etype.to_le_bytes());
    e.extend_from_slice(&(params.len() as u32).to_le_bytes());
    for p in params {
        if large {
            e.extend_from_slice(&(p.len() as u32).to_le_bytes());
        } else {
            e.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
    }
    for p in params {
        e.extend_from_slice(p);
    }
    let mut body = 1u16.to_le_bytes().to_vec(); // cpu 1
    let t = match flags {
        Some(f) => {
            body.extend_from_slice(&f.to_le_bytes());
            bt::EVF_V2
        }
        None => bt::EV_V2,
    };
    body.extend_from_slice(&e);
    block(t, &body)
}

/// One process-list entry of version `ver` (1..=4), without `entry_len`.
fn pl_entry(ver: u8, tid: u64, pid: u64, comm: &str) -> Vec<u8> {
    let s16 = |v: &mut Vec<u8>, s: &[u8]| {
        v.extend_from_slice(&(s.len() as u16).to_le_bytes());
        v.extend_from_slice(s);
    };
    let mut v = Vec::new();
    for x in [tid, pid, 1] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    s16(&mut v, comm.as_bytes());
    s16(&mut v, format!("/bin/{comm}").as_bytes());
    s16(&mut v, b"-x\0");
    s16(&mut v, b"/tmp");
    v.extend_from_slice(&1024u64.to_le_bytes()); // fdlimit
    v.extend_from_slice(&0u32.to_le_bytes()); // flags
    v.extend_from_slice(&1000u32.to_le_bytes()); // uid
    v.extend_from_slice(&100u32.to_le_bytes()); // gid
    if ver >= 2 {
        v.extend_from_slice(&[0; 4 * 3 + 8 * 2]);
    }
    if ver >= 3 {
        s16(&mut v, b"HOME=/\0");
    }
    if ver >= 4 {
        v.extend_from_slice(&tid.to_le_bytes());
        v.extend_from_slice(&pid.to_le_bytes());
        s16(
            &mut v,
            b"cpuset=/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\0",
        );
    }
    v
}

const CLOSE_E: u16 = 4;
const CLOSE_X: u16 = 5;
const DROP_E: u16 = 148;
const DROP_X: u16 = 149;
const SCAPEVENT_E: u16 = 196;
const EXECVE_19_X: u16 = 293;
const PRCTL_X: u16 = 401;
const CLONE_20_X: u16 = 223;
const UNSHARE_E: u16 = 284;
const UNSHARE_X: u16 = 285;

fn close_pair(ts: u64, tid: u64, flags: Option<u32>) -> Vec<u8> {
    let mut v = ev(CLOSE_E, ts, tid, flags, &[&3i64.to_le_bytes()]);
    v.extend(ev(
        CLOSE_X,
        ts + 10,
        tid,
        flags,
        &[&0i64.to_le_bytes(), &3i64.to_le_bytes()],
    ));
    v
}

fn close_code() -> u16 {
    crate::event::table::Syscalls::default_x86_64().codes("close")[0]
}

fn file(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut f = shb();
    for p in parts {
        f.extend_from_slice(p);
    }
    f
}

#[test]
fn drop_periods_become_counted_gaps() {
    let f = file(&[
        close_pair(100, 7, None),
        ev(DROP_E, 200, 0, None, &[&4u32.to_le_bytes()]),
        ev(DROP_X, 300, 0, None, &[&4u32.to_le_bytes()]),
        // An exit whose enter is not in the file is a period too.
        ev(DROP_X, 350, 0, None, &[&4u32.to_le_bytes()]),
        ev(
            SCAPEVENT_E,
            360,
            0,
            None,
            &[&0u32.to_le_bytes(), &0u64.to_le_bytes()],
        ),
        ev(DROP_E, 400, 0, None, &[&2u32.to_le_bytes()]),
        close_pair(500, 7, None),
    ]);
    let imp = import(&f).unwrap();
    assert_eq!(imp.stats.truncation, None);
    assert_eq!(imp.stats.drop_periods, 3);
    assert_eq!(imp.stats.internal.get("scapevent"), Some(&1));
    let drops: Vec<(u64, u64)> = records(&imp)
        .iter()
        .filter(|r| r.code() == CODE_DROP)
        .map(|r| (r.ts(), r.arg(0).unwrap()))
        .collect();
    assert_eq!(drops, [(200, 1), (350, 1), (400, 1)]);
    // The converted capture totals them, which is what `info` reports.
    let bytes = to_capture(&imp, crate::capture::WriterOptions::default()).unwrap();
    let r = crate::capture::CaptureReader::new(bytes).unwrap();
    assert_eq!(r.totals().drops, 3);
}

#[test]
fn unknown_blocks_before_events_are_skipped_after_they_end_the_stream() {
    let unknown = block(0x7777, &[1, 2, 3]);
    let f = file(&[unknown.clone(), close_pair(100, 7, None)]);
    let imp = import(&f).unwrap();
    assert_eq!(imp.stats.truncation, None);
    assert_eq!(imp.stats.skipped_blocks, 1);
    assert_eq!(imp.stats.records, 1);

    let head = file(&[close_pair(100, 7, None)]);
    let f = [head.clone(), unknown, close_pair(200, 7, None)].concat();
    let imp = import(&f).unwrap();
    match &imp.stats.truncation {
        Some(ScapError::UnexpectedBlock { offset, block_type }) => {
            assert_eq!((*offset, *block_type), (head.len() as u64, 0x7777));
        }
        t => panic!("{t:?}"),
    }
    assert_eq!(imp.stats.records, 1, "the events after it are not read");
    let n = events(&f).filter(Result::is_ok).count();
    assert_eq!(n, 2, "the raw iterator stops there too");
    assert!(events(&f).last().unwrap().is_err());
}

#[test]
fn metadata_after_events_needs_a_new_section() {
    let pl = block(bt::PL_V4, &pl_entry(4, 9, 9, "late"));
    // PL straight after events: libscap's restart wants a section header.
    let f = file(&[
        close_pair(100, 7, None),
        pl.clone(),
        close_pair(200, 9, None),
    ]);
    let imp = import(&f).unwrap();
    assert!(matches!(
        imp.stats.truncation,
        Some(ScapError::UnexpectedBlock {
            block_type: bt::PL_V4,
            ..
        })
    ));
    // After a new section header (concatenated captures) it is read, and the
    // thread it adds joins the snapshot.
    let f = file(&[
        close_pair(100, 7, None),
        shb(),
        pl,
        close_pair(200, 9, None),
    ]);
    let imp = import(&f).unwrap();
    assert_eq!(imp.stats.truncation, None);
    assert_eq!(imp.stats.sections, 2);
    assert_eq!(imp.stats.records, 2);
    let late = imp.meta.snapshot.procs.iter().find(|p| p.tid == 9).unwrap();
    assert_eq!(late.comm, "late");
}

#[test]
fn state_only_events_are_hidden() {
    let f = file(&[
        close_pair(100, 7, Some(1)),
        close_pair(200, 7, Some(0)),
        close_pair(300, 7, None),
    ]);
    let imp = import(&f).unwrap();
    assert_eq!(imp.stats.state_only, 2, "both halves of the first pair");
    assert_eq!(imp.stats.state_only_hidden, 1);
    let ts: Vec<u64> = records(&imp).iter().map(|r| r.ts()).collect();
    assert_eq!(ts, [210, 310]);
}

#[test]
fn prctl_set_name_reaches_state() {
    let code = crate::event::table::Syscalls::default_x86_64().codes("prctl")[0];
    let f = file(&[
        ev(400, 100, 7, None, &[]),
        ev(
            PRCTL_X,
            110,
            7,
            None,
            &[
                &0i64.to_le_bytes(),
                &15u32.to_le_bytes(),
                b"worker\0",
                &0i64.to_le_bytes(),
            ],
        ),
        ev(400, 200, 7, None, &[]),
        ev(
            PRCTL_X,
            210,
            7,
            None,
            &[
                &0i64.to_le_bytes(),
                &36u32.to_le_bytes(),
                b"",
                &1i64.to_le_bytes(),
            ],
        ),
    ]);
    let imp = import(&f).unwrap();
    let rs = records(&imp);
    let pr: Vec<&Record<'_>> = rs.iter().filter(|r| r.code() == code).collect();
    assert_eq!(pr.len(), 2);
    assert_eq!(pr[0].arg(0), Some(15));
    let name = pr[0].param(1).unwrap();
    assert_eq!(
        (name.kind(), name.data),
        (Some(ParamKind::Str), &b"worker"[..])
    );
    assert_eq!((pr[1].arg(0), pr[1].arg(1)), (Some(36), Some(1)));
    let mut st = crate::state::State::from_capture(&imp.meta.syscalls, &imp.meta.snapshot);
    for r in &rs {
        st.apply(r);
    }
    assert_eq!(&*st.thread(7).unwrap().comm, "worker");
    assert!(st.process(7).unwrap().child_subreaper);
}

#[test]
fn execve_exe_flags_are_kept() {
    let mut params: Vec<Vec<u8>> = vec![Vec::new(); 20];
    params[0] = 0i64.to_le_bytes().to_vec(); // res
    params[1] = b"/tmp/x\0".to_vec(); // exe
    params[4] = 7i64.to_le_bytes().to_vec(); // pid
    params[19] = (1u32 | 4).to_le_bytes().to_vec(); // writable | memfd
    let refs: Vec<&[u8]> = params.iter().map(|p| &p[..]).collect();
    let f = file(&[
        ev(292, 100, 7, None, &[b"/tmp/x\0"]),
        ev(EXECVE_19_X, 110, 7, None, &refs),
    ]);
    let imp = import(&f).unwrap();
    let rs = records(&imp);
    let x = rs.iter().find(|r| r.code() == CODE_EXEC).unwrap();
    assert_eq!(
        x.arg(exec::EXE_FLAGS),
        Some(exec::EXE_WRITABLE | exec::EXE_NO_LINKS)
    );
}

#[test]
fn truncated_and_gzip_errors_carry_offsets() {
    let f = file(&[close_pair(100, 7, None), close_pair(200, 7, None)]);
    let cut = &f[..f.len() - 5];
    let imp = import(cut).unwrap();
    let t = imp.stats.truncation.clone().expect("truncated");
    let last_block = f.len() - ev(CLOSE_X, 0, 0, None, &[&[0; 8], &[0; 8]]).len();
    assert_eq!(t.offset(), Some(last_block as u64));
    assert_eq!(imp.stats.records, 2, "the complete pair and the lone enter");
    // Multi-member gzip: one member per half, then a corrupt tail.
    let gz = |d: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    };
    let mid = shb().len() + close_pair(0, 0, None).len();
    let two = [gz(&f[..mid]), gz(&f[mid..])].concat();
    let imp = import(&two).unwrap();
    assert_eq!((imp.stats.truncation.clone(), imp.stats.records), (None, 2));
    let mut bad = two.clone();
    let n = bad.len();
    bad.truncate(n - 6);
    let imp = import(&bad).unwrap();
    match imp.stats.truncation {
        Some(ScapError::Gzip { offset, .. }) => assert!(offset <= bad.len() as u64),
        Some(ScapError::Truncated { .. }) => {}
        t => panic!("{t:?}"),
    }
    assert!(imp.stats.records >= 1, "the first member's events stay");
}

#[test]
fn old_process_list_versions() {
    for ver in 1..=4u8 {
        let t = [bt::PL_V1, bt::PL_V2, bt::PL_V3, bt::PL_V4][usize::from(ver - 1)];
        let body = [pl_entry(ver, 5, 5, "a"), pl_entry(ver, 6, 5, "b")].concat();
        let f = file(&[block(t, &body), close_pair(100, 6, None)]);
        let imp = import(&f).unwrap_or_else(|e| panic!("PL V{ver}: {e}"));
        assert_eq!(imp.stats.truncation, None, "PL V{ver}");
        let procs = &imp.meta.snapshot.procs;
        assert_eq!(procs.len(), 2, "PL V{ver}");
        let b = &procs[1];
        assert_eq!(
            (b.tid, b.pid, &*b.comm, &*b.cwd, b.uid),
            (6, 5, "b", "/tmp", 1000)
        );
        assert_eq!(b.args, ["/bin/b", "-x"], "PL V{ver}");
        let cid = if ver >= 4 { "0123456789ab" } else { "" };
        assert_eq!(b.container_id, cid, "PL V{ver}");
        assert_eq!(imp.stats.unknown_threads, 0, "PL V{ver}: tid 6 is known");
        assert!(records(&imp)
            .iter()
            .any(|r| r.code() == close_code() && r.pid() == 5));
    }
}

/// A parent-side `clone` exit (`CLONE_20_X`) of `tid` returning `res`.
fn clone_x(ts: u64, tid: u64, res: u64) -> Vec<u8> {
    let i = |v: u64| v.to_le_bytes().to_vec();
    let u = |v: u32| v.to_le_bytes().to_vec();
    let params: Vec<Vec<u8>> = vec![
        i(res),
        b"sh\0".to_vec(),
        b"\0".to_vec(),
        i(tid),
        i(tid),
        i(1),
        b"/\0".to_vec(),
        i(1024),
        i(0),
        i(0),
        u(0),
        u(0),
        u(0),
        b"sh\0".to_vec(),
        b"\0".to_vec(),
        u(0),
        u(0),
        u(0),
        i(tid),
        i(tid),
        i(0),
    ];
    let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
    ev(CLONE_20_X, ts, tid, None, &refs)
}

/// The first child after `unshare(CLONE_NEWPID)` is pid 1 of the new
/// namespace: its FORK carries vtid/vpid 1 (the caller's clone exit shows
/// only the global tid); later children keep the global-id guess.
#[test]
fn first_child_after_unshare_newpid_is_pid_1() {
    let newpid = (1u32 << 6).to_le_bytes();
    let f = file(&[
        ev(UNSHARE_E, 100, 50, None, &[&newpid]),
        ev(UNSHARE_X, 110, 50, None, &[&0i64.to_le_bytes()]),
        clone_x(120, 50, 51),
        clone_x(130, 50, 52),
    ]);
    let imp = import(&f).unwrap();
    let forks: Vec<Vec<Option<u64>>> = records(&imp)
        .iter()
        .filter(|r| r.code() == crate::event::wire::CODE_FORK)
        .map(|r| (0..5).map(|i| r.arg(i)).collect())
        .collect();
    let ids = |v: &Vec<Option<u64>>| (v[0], v[3], v[4]);
    assert_eq!(forks.len(), 2);
    assert_eq!(ids(&forks[0]), (Some(51), Some(1), Some(1)));
    assert_eq!(ids(&forks[1]), (Some(52), Some(52), Some(52)));
}

#[test]
fn every_param_is_found_with_u16_and_u32_lengths() {
    use super::events_table::{ef, EVENTS};
    use super::parse::{decode_event, Decoded};
    let typed = |large: bool| {
        EVENTS
            .iter()
            .position(|e| (e.flags & ef::LARGE_PAYLOAD != 0) == large && e.params.len() >= 3)
            .expect("such a type") as u16
    };
    for large in [false, true] {
        let etype = typed(large);
        let n = EVENTS[usize::from(etype)].params.len();
        // Lengths of 0, 1, a few, and (u32 only) past u16.
        let sizes = [5, 0, 70_000, 1, 300, 2, 0, 9];
        let params: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let s = if large {
                    sizes[i % 8]
                } else {
                    sizes[i % 8] % 60_000
                };
                (0..s).map(|k| (k * 7 + i) as u8).collect()
            })
            .collect();
        let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
        let b = ev_lens(etype, 7, 9, None, &refs, large);
        let blk = block::Blocks::new(&b)
            .next()
            .expect("a block")
            .expect("framed");
        let Decoded::Event(e) = decode_event(&blk).expect("decodes") else {
            panic!("known type {etype}");
        };
        for (i, p) in params.iter().enumerate() {
            // Not assert_eq: a 70 kB param would fill the failure message.
            assert!(e.params.get(i) == Some(&p[..]), "large {large} param {i}");
        }
        assert_eq!(e.params.get(n), None);
    }
}
