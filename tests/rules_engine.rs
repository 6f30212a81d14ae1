//! Rule engine end to end: invalid rules files (one per error kind, each with its expected
//! message), replay of sysdig captures with list-of-lists rules, tag selection and
//! first/all matching, and the `rules`/`replay`/`test` commands.

use crate::util::{run, stderr, stdout};
use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::replay::{open_bytes, replay};
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
        assert!(
            err.contains(expect),
            "{name}:\n expected: {expect}\n got: {err}"
        );
        assert!(
            err.starts_with(&format!("{name}:")) && err.as_bytes()[name.len() + 1].is_ascii_digit(),
            "{name}: no file:line:col in {err}"
        );
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
    let o = run(&["rules", "validate", concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/falco/falco_rules.yaml")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ok (25 rules, 87 macros, 49 lists; 25 compiled, 0 warnings)"),
        "{}",
        stdout(&o)
    );
    let o = run(&["rules", "list", "-R", concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/falco/falco_rules.yaml")]);
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
    let cap = open_bytes(std::fs::read(Path::new(EXTERNAL).join(capture)).unwrap()).unwrap();
    let mut alerts = Vec::new();
    replay(&cap, loaded.ruleset, opts, &mut |a| {
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
