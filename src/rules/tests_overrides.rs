//! `override:` for every key Falco allows, one key at a time (append and replace), plus
//! the keys each mode refuses, against the mock registry of [`super::tests`].

use super::tests::{matches, mock_load, rule, Ev, BASE};
use super::*;

/// BASE, whose rule R has one exception, then `extra`.
fn with(extra: &str) -> Loaded {
    let y = format!(
        "{BASE}  exceptions:\n    - name: cat_tmp\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values: [[cat, /tmp]]\n{extra}"
    );
    mock_load(&y).unwrap_or_else(|e| panic!("{e}"))
}

fn err(extra: &str) -> String {
    mock_load(&format!("{BASE}{extra}"))
        .map(|_| ())
        .expect_err(extra)
        .to_string()
}

#[test]
fn desc_append_and_replace() {
    let l = with("- rule: R\n  desc: and more\n  override:\n    desc: append\n");
    assert_eq!(rule(&l, "R").desc, "d and more");
    let l = with("- rule: R\n  desc: new words\n  override:\n    desc: replace\n");
    assert_eq!(rule(&l, "R").desc, "new words");
    // The rest of the rule is untouched.
    assert!(matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/etc/x")]));
}

#[test]
fn enabled_replace_both_ways() {
    let l = with("- rule: R\n  enabled: false\n  override:\n    enabled: replace\n");
    assert!(!rule(&l, "R").enabled);
    let l = with("- rule: R\n  enabled: false\n  override:\n    enabled: replace\n- rule: R\n  enabled: true\n  override:\n    enabled: replace\n");
    assert!(rule(&l, "R").enabled);
    let e = err("- rule: R\n  enabled: false\n  override:\n    enabled: append\n");
    assert!(
        e.contains("t.yaml:17:5: rule 'R': key 'enabled' cannot be overridden with 'append'"),
        "{e}"
    );
}

#[test]
fn tags_replace_drops_the_old_set() {
    let l = with("- rule: R\n  tags: [z, c]\n  override:\n    tags: replace\n");
    let tags: Vec<&str> = rule(&l, "R").tags.iter().map(String::as_str).collect();
    assert_eq!(tags, ["c", "z"]);
    let l = with("- rule: R\n  tags: [z, a]\n  override:\n    tags: append\n");
    let tags: Vec<&str> = rule(&l, "R").tags.iter().map(String::as_str).collect();
    assert_eq!(tags, ["a", "b", "z"], "append merges as a set");
}

#[test]
fn exceptions_replace_drops_the_old_ones() {
    let base = with("");
    let cat_tmp = [(2, "open"), (0, "cat"), (1, "/tmp/f")];
    let bash_etc = [(2, "open"), (0, "bash"), (1, "/etc/f")];
    assert!(!matches(&base, "R", &cat_tmp), "the original exception");
    assert!(matches(&base, "R", &bash_etc));
    let l = with("- rule: R\n  exceptions:\n    - name: bash_etc\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values: [[bash, /etc]]\n  override:\n    exceptions: replace\n");
    assert!(matches(&l, "R", &cat_tmp), "replaced: cat_tmp is gone");
    assert!(!matches(&l, "R", &bash_etc), "the new exception applies");
    let l = with("- rule: R\n  exceptions:\n    - name: bash_etc\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values: [[bash, /etc]]\n  override:\n    exceptions: append\n");
    assert!(!matches(&l, "R", &cat_tmp) && !matches(&l, "R", &bash_etc));
}

#[test]
fn condition_replace_and_append() {
    let l = with("- rule: R\n  condition: evt.type=read and proc.name=ls\n  override:\n    condition: replace\n");
    assert!(matches(&l, "R", &[(2, "read"), (0, "ls")]));
    assert!(!matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/etc/x")]));
    // The event types follow the new condition.
    let t: Vec<&str> = rule(&l, "R")
        .evttypes
        .as_ref()
        .expect("typed")
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(t, ["read"]);
    // Exceptions survive a condition replace.
    let l = with("- rule: R\n  condition: evt.type=open\n  override:\n    condition: replace\n");
    assert!(matches(&l, "R", &[(2, "open"), (0, "ls"), (1, "/tmp/f")]));
    assert!(!matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/tmp/f")]));
    let l = with("- rule: R\n  condition: and fd.name=/x\n  override:\n    condition: append\n");
    assert!(matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/x")]));
    assert!(!matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/y")]));
}

#[test]
fn priority_replace_only() {
    let l = with("- rule: R\n  priority: critical\n  override:\n    priority: replace\n");
    assert_eq!(rule(&l, "R").priority, Priority::Critical);
    let e = err("- rule: R\n  priority: INFO\n  override:\n    priority: append\n");
    assert!(
        e.contains("rule 'R': key 'priority' cannot be overridden with 'append'"),
        "{e}"
    );
}

#[test]
fn output_replace_and_append() {
    let ev = [(0, "cat"), (1, "/etc/x")];
    let l = with("- rule: R\n  output: new %proc.name\n  override:\n    output: replace\n");
    assert_eq!(rule(&l, "R").output.render(&mut Ev::new(&ev)), "new cat");
    let l = with("- rule: R\n  output: 'fd=%fd.name'\n  override:\n    output: append\n");
    assert_eq!(
        rule(&l, "R").output.render(&mut Ev::new(&ev)),
        "opened /etc/x by cat fd=/etc/x"
    );
}

#[test]
fn several_overrides_apply_in_order_and_keep_position() {
    let l = with(
        "- rule: Later\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n\
- rule: R\n  desc: one\n  override:\n    desc: replace\n\
- rule: R\n  desc: two\n  tags: [t]\n  override:\n    desc: append\n    tags: replace\n",
    );
    let r = rule(&l, "R");
    assert_eq!(r.desc, "one two");
    assert_eq!(r.tags.iter().collect::<Vec<_>>(), ["t"]);
    assert_eq!(l.ruleset.rules[0].name, "R", "overrides do not move a rule");
    assert_eq!(l.ruleset.rules[1].name, "Later");
}
