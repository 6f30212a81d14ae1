//! Tests over the real captures in /work/shared/captures/external.

use super::*;

const DIR: &str = "/work/shared/captures/external";

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

pub(super) fn read(name: &str) -> Option<Vec<u8>> {
    std::fs::read(format!("{DIR}/{name}")).ok()
}

#[test]
fn every_external_file_imports_with_manifest_counts() {
    let Some(_) = read("cat_write.scap") else {
        eprintln!("external captures not present; skipping");
        return;
    };
    let listed: std::collections::BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".scap"))
        .collect();
    let expected: std::collections::BTreeSet<String> =
        EXPECTED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(listed, expected, "the corpus changed: update EXPECTED from MANIFEST.md");
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
