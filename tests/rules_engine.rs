//! Rule engine end to end: invalid rules files (one per error kind, each with its expected
//! message), replay of sysdig captures with list-of-lists rules, tag selection and
//! first/all matching, and the `rules`/`replay`/`test` commands.

use crate::util::{bpf_guard, run, saker, stderr, stdout, tmpdir};
use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::replay::replay;
use saker::rules::{self, Alert, CompileOptions, EngineOptions, RuleMatching};
use std::collections::BTreeMap;
use std::path::Path;

const EXTERNAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/external");
const INVALID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rules/invalid");

#[test]
fn invalid_rules_files_name_the_problem() {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(INVALID)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: no '# expect:' line", p.display()));
        let name = p.display().to_string();
        let err = rules::load(
            &[(&name, &text)],
            &Fields,
            Syscalls::default_x86_64(),
            &CompileOptions::default(),
        )
        .map(|_| ())
        .expect_err(&name)
        .to_string();
        // The whole first line of the message: `LINE:COL: what`, after the file name.
        assert!(
            expect.as_bytes().first().is_some_and(u8::is_ascii_digit),
            "{name}: the expectation must start with line:col"
        );
        let first = err.lines().next().unwrap_or_default();
        assert_eq!(first, format!("{name}:{expect}"), "{name}");
        n += 1;
    }
    assert!(n >= 25, "only {n} invalid files");
}

#[test]
fn condition_errors_show_a_caret() {
    let p = format!("{INVALID}/unknown_field.yaml");
    let o = run(&["rules", "validate", &p]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("{p}:4:14: rule 'r': unknown field 'proc.nmae'")),
        "{e}"
    );
    assert!(
        e.contains(" | evt.type=open and proc.nmae=cat\n |                   ^^^^^^^^^"),
        "{e}"
    );
}

#[test]
fn validate_and_list_stable_ruleset() {
    let o = run(&[
        "rules",
        "validate",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/falco/falco_rules.yaml"
        ),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ok (25 rules, 87 macros, 49 lists; 25 compiled, 0 warnings)"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "rules",
        "list",
        "-R",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/falco/falco_rules.yaml"
        ),
    ]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 25);
    assert!(
        out.contains("PTRACE attached to process\tWarning\tptrace\t"),
        "{out}"
    );
}

fn replay_file(capture: &str, rules_yaml: &str, opts: EngineOptions) -> Vec<Alert> {
    let loaded = rules::load(
        &[("t.yaml", rules_yaml)],
        &Fields,
        Syscalls::default_x86_64(),
        &CompileOptions::default(),
    )
    .unwrap();
    let cap = saker::source::open(&Path::new(EXTERNAL).join(capture)).unwrap();
    let mut alerts = Vec::new();
    replay(&cap.reader, loaded.ruleset, opts, &mut |a| {
        alerts.push(a.clone());
        true
    })
    .unwrap();
    alerts
}

const CAT: &str = "
- list: cat_binaries
  items: [cat]
- list: pagers
  items: [cat_binaries, less, more]
- rule: open_from_cat
  desc: an open by cat
  condition: evt.type=open and proc.name in (pagers)
  output: An open was seen (command=%proc.cmdline file=%fd.name)
  priority: WARNING
  tags: [filesystem, process, testing]
";

#[test]
fn list_of_lists_rule_matches_each_cat_open() {
    let alerts = replay_file("cat_write.scap", CAT, EngineOptions::default());
    let files: Vec<&str> = alerts
        .iter()
        .map(|a| a.output_fields["fd.name"].as_str().unwrap())
        .collect();
    // The importer pairs enter/exit, so each open alerts once (Falco on this old trace: 8).
    assert_eq!(
        files,
        [
            "/etc/ld.so.cache",
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/locale/locale-archive",
            "/dev/null"
        ]
    );
    let a = &alerts[3];
    assert_eq!(
        a.text(),
        "16:17:57.882054739: Warning An open was seen (command=cat /dev/null file=/dev/null)"
    );
    let j = a.json();
    assert_eq!(j["time"], "2016-08-04T16:17:57.882054739Z");
    assert_eq!(j["output_fields"]["evt.time"], 1_470_327_477_882_054_739i64);
    assert_eq!(
        j["tags"],
        serde_json::json!(["filesystem", "process", "testing"])
    );
    assert_eq!(j["source"], "syscall");
    // Without the nested list name the rule cannot match.
    let none = replay_file(
        "cat_write.scap",
        &CAT.replace("cat_binaries, less", "less"),
        EngineOptions::default(),
    );
    assert!(none.is_empty());
}

const TAGGED: &str = "
- rule: any_open
  desc: d
  condition: evt.type in (open, openat)
  output: open %fd.name
  priority: NOTICE
  tags: [files, broad]
- rule: open_etc
  desc: d
  condition: evt.type in (open, openat) and fd.name startswith /etc
  output: etc %fd.name
  priority: WARNING
  tags: [files, etc]
- rule: any_event
  desc: d
  condition: evt.num > 0
  output: ev
  priority: DEBUG
  tags: [noisy]
";

fn counts(alerts: &[Alert]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in alerts {
        *m.entry(a.rule.to_string()).or_default() += 1;
    }
    m
}

#[test]
fn tag_matrix_and_matching_modes() {
    let cap = "open-multiple-files.scap";
    let all = EngineOptions {
        rule_matching: RuleMatching::All,
        ..Default::default()
    };
    let base = counts(&replay_file(cap, TAGGED, all.clone()));
    let (opens, etc, events) = (
        base["any_open"],
        base.get("open_etc").copied().unwrap_or(0),
        base["any_event"],
    );
    assert!(opens > 0 && events > opens, "{base:?}");
    let tags = |enable: &[&str], disable: &[&str]| {
        let o = EngineOptions {
            enable_tags: enable.iter().map(|s| s.to_string()).collect(),
            disable_tags: disable.iter().map(|s| s.to_string()).collect(),
            ..all.clone()
        };
        counts(&replay_file(cap, TAGGED, o))
    };
    assert_eq!(
        tags(&["noisy"], &[]).keys().collect::<Vec<_>>(),
        ["any_event"]
    );
    assert_eq!(
        tags(&[], &["files"]).keys().collect::<Vec<_>>(),
        ["any_event"]
    );
    let broad = tags(&["broad"], &[]);
    assert_eq!(broad.get("any_open"), Some(&opens));
    assert_eq!(broad.len(), 1);
    let no_broad = tags(&[], &["broad"]);
    assert!(!no_broad.contains_key("any_open"));
    assert_eq!(no_broad.get("open_etc").copied().unwrap_or(0), etc);
    // With all matching, catch-all any_event runs only on events no typed rule matched.
    assert_eq!(
        base["any_event"] + opens,
        tags(&["noisy"], &[])["any_event"]
    );
    // First matching: one alert per matching event, the earliest rule wins.
    let first = counts(&replay_file(cap, TAGGED, EngineOptions::default()));
    assert_eq!(first["any_open"], opens);
    assert!(!first.contains_key("open_etc"));
    assert_eq!(first["any_event"], base["any_event"]);
}

#[test]
fn replay_and_test_commands() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("cat.yaml");
    std::fs::write(&rules, CAT).unwrap();
    let cap = format!("{EXTERNAL}/cat_write.scap");
    let o = run(&[
        "replay",
        "-r",
        &cap,
        "-R",
        rules.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["rule"], "open_from_cat");
    assert!(stderr(&o).contains("open_from_cat: 4"), "{}", stderr(&o));
    // A cut .scap replays up to the cut, with a warning that says where:
    // cat_write decompressed is 104404 bytes, its events after ~92 KB.
    let mut whole = Vec::new();
    let gz = std::fs::read(&cap).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut whole)
        .unwrap();
    let cut = dir.path().join("cut.scap");
    std::fs::write(&cut, &whole[..95_000]).unwrap();
    let rules_s = rules.to_str().unwrap();
    let o = run(&[
        "replay",
        "-r",
        cut.to_str().unwrap(),
        "-R",
        rules_s,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is incomplete at offset") && stderr(&o).contains("replaying"),
        "{}",
        stderr(&o)
    );
    let n = stdout(&o).lines().count();
    assert!(n > 0 && n < 4, "the alerts before the cut: {}", stdout(&o));
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!("capture: {cap}\nrules: [cat.yaml]\nexpect:\n  counts: {{open_from_cat: 3}}\n"),
    )
    .unwrap();
    let o = run(&["test", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("rule 'open_from_cat': expected 3 alerts, got 4"),
        "{}",
        stdout(&o)
    );
    let o = run(&["test", "--bless", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["test", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("1 passed, 0 failed"));
}

/// Rules names of `--json` alert lines.
fn rule_counts(out: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in out.lines() {
        let j: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        *m.entry(j["rule"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

#[test]
fn replay_selection_flags_and_output_file() {
    let dir = tmpdir();
    let rules = dir.path().join("tagged.yaml");
    // open_etc on files this capture does open (it opens nothing below /etc).
    let tagged = TAGGED.replace("startswith /etc", "startswith /tmp/file-1");
    std::fs::write(&rules, &tagged).unwrap();
    let cap = format!("{EXTERNAL}/open-multiple-files.scap");
    let r = rules.to_str().unwrap();
    let replay = |extra: &[&str]| {
        let mut args = vec!["replay", "-q", "--json", "-r", &cap, "-R", r];
        args.extend(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        rule_counts(&stdout(&o))
    };
    let lib = |o: EngineOptions| counts(&replay_file("open-multiple-files.scap", &tagged, o));
    let all = EngineOptions {
        rule_matching: RuleMatching::All,
        ..Default::default()
    };
    let want_all = lib(all.clone());
    assert!(want_all.len() == 3, "{want_all:?}");
    assert_eq!(replay(&["--rule-matching", "all"]), want_all);
    let first = replay(&[]);
    assert_eq!(first, lib(EngineOptions::default()));
    assert_ne!(first, want_all, "first and all differ on this capture");
    assert_eq!(replay(&["--rule-matching", "first"]), first);
    // -t: only tagged rules; -T: tagged rules off (repeatable).
    let only_noisy = replay(&["--rule-matching", "all", "-t", "noisy"]);
    assert_eq!(only_noisy.keys().collect::<Vec<_>>(), ["any_event"]);
    let o = EngineOptions {
        enable_tags: vec!["noisy".into()],
        ..all.clone()
    };
    assert_eq!(only_noisy, lib(o));
    let off = replay(&["--rule-matching", "all", "-T", "broad", "-T", "noisy"]);
    assert_eq!(off.keys().collect::<Vec<_>>(), ["open_etc"]);
    assert_eq!(off["open_etc"], want_all["open_etc"]);
    // --min-priority: NOTICE any_open and DEBUG any_event drop out below WARNING.
    let warn = replay(&["--rule-matching", "all", "--min-priority", "warning"]);
    assert_eq!(warn.keys().collect::<Vec<_>>(), ["open_etc"]);
    let notice = replay(&["--rule-matching", "all", "--min-priority", "Notice"]);
    assert_eq!(notice.keys().collect::<Vec<_>>(), ["any_open", "open_etc"]);
    // -o: the same lines, in the file, nothing on stdout.
    let file = dir.path().join("alerts.jsonl");
    let o = run(&[
        "replay",
        "-q",
        "--json",
        "-r",
        &cap,
        "-R",
        r,
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o2 = run(&["replay", "-q", "--json", "-r", &cap, "-R", r]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout(&o2));
    // Bad values are errors.
    let o = run(&["replay", "-r", &cap, "-R", r, "--min-priority", "loud"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("invalid --min-priority 'loud'"),
        "{}",
        stderr(&o)
    );
    let o = run(&["replay", "-r", &cap, "-R", r, "-t", "a", "-T", "b"]);
    assert_eq!(o.status.code(), Some(2), "-t and -T conflict");
}

#[test]
fn record_rules_alert_live_and_the_capture_replays_to_them() {
    let Some(_g) = bpf_guard("record_rules_alert_live_and_the_capture_replays_to_them") else {
        return;
    };
    use std::io::BufRead;
    let dir = tmpdir();
    let cap = dir.path().join("shadow.cap");
    // The alert must arrive while the command is still running (it sleeps
    // after the read): no wall-clock bound, which a loaded machine breaks.
    let mut child = saker()
        .args(["record", "-q", "--only-cmd", "--rules", "default", "-w"])
        .arg(&cap)
        .args(["--", "sh", "-c", "cat /etc/shadow >/dev/null; sleep 3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(
        child.try_wait().unwrap().is_none(),
        "the alert came only after recording stopped: {first}"
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(crate::util::wait_child(&mut child).success());
    let live: Vec<String> = std::iter::once(first.trim_end().to_string())
        .chain(rest.lines().map(str::to_string))
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        live.iter().any(|l| l.contains(": Warning Sensitive file opened for reading (file=/etc/shadow user=root process=cat command=cat /etc/shadow")),
        "{live:?}"
    );
    // The capture replays to the same alerts, line for line.
    let o = run(&["replay", "-q", "-r", cap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), live);

    // JSON alerts, a small rules file with tag selection, and the summary's rules counts.
    let rules = dir.path().join("cat.yaml");
    std::fs::write(
        &rules,
        "- rule: cat_open\n  desc: d\n  condition: evt.type=openat and proc.name=cat and fd.name=/etc/hostname\n  output: cat opened %fd.name\n  priority: NOTICE\n  tags: [mine]\n\
- rule: other\n  desc: d\n  condition: evt.type=openat and proc.name=cat\n  output: other %fd.name\n  priority: NOTICE\n  tags: [theirs]\n",
    )
    .unwrap();
    let cap2 = dir.path().join("hostname.cap");
    let o = run(&[
        "record",
        "-q",
        "--json",
        "--only-cmd",
        "-R",
        rules.to_str().unwrap(),
        "-t",
        "mine",
        "-w",
        cap2.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "cat /etc/hostname >/dev/null",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, alerts) = lines.split_last().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["rule"], "cat_open");
    assert_eq!(alerts[0]["output_fields"]["fd.name"], "/etc/hostname");
    assert_eq!(summary["rules"]["alerts"], 1);
    assert_eq!(summary["rules"]["by_rule"]["cat_open"], 1);
    assert_eq!(summary["rules"]["skipped_batches"], 0);
    let o = run(&[
        "replay",
        "-q",
        "--json",
        "-t",
        "mine",
        "-R",
        rules.to_str().unwrap(),
        "-r",
        cap2.to_str().unwrap(),
    ]);
    let replayed: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(replayed, alerts[0]);
}
