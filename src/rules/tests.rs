//! Loader tests: the four Falco rulesets with the real field catalogue, and small inline
//! files for append/override/exceptions/selection semantics against a mock event.

use super::*;
use crate::filter::fields::Fields;
use crate::filter::{FieldInfo, FieldSource, Scratch, ValueBuf};
use std::collections::{BTreeSet, HashMap};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/falco");

/// Names of top-level items of `kind`, read line by line (the key may come first, `- kind:`,
/// or later in the item, `  kind:`), independently of the YAML reader.
fn names(text: &str, kind: &str) -> BTreeSet<String> {
    let (first, later) = (format!("- {kind}:"), format!("  {kind}:"));
    text.lines()
        .filter_map(|l| l.strip_prefix(&first).or_else(|| l.strip_prefix(&later)))
        .map(|n| n.trim().trim_matches('"').trim_matches('\'').to_string())
        .collect()
}

fn load_files(paths: &[&str]) -> (Loaded, Vec<String>) {
    let texts: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let path = format!("{DIR}/{p}");
            (
                path.clone(),
                std::fs::read_to_string(&path).expect("ruleset present"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let loaded = load(
        &files,
        &Fields,
        Syscalls::default_x86_64(),
        &CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (loaded, texts.into_iter().map(|t| t.1).collect())
}

fn check_counts(paths: &[&str]) -> Loaded {
    let (l, texts) = load_files(paths);
    for kind in ["rule", "macro", "list"] {
        let all: BTreeSet<String> = texts.iter().flat_map(|t| names(t, kind)).collect();
        let got = match kind {
            "rule" => l.collected.rules.len(),
            "macro" => l.collected.macros.len(),
            _ => l.collected.lists.len(),
        };
        assert_eq!(got, all.len(), "{kind} count for {paths:?}");
    }
    // Every rule compiles: none skipped for unknown fields or sources.
    let skipped: Vec<_> = l
        .warnings
        .iter()
        .filter(|w| {
            matches!(
                w.kind,
                WarningKind::UnknownField | WarningKind::UnknownSource
            )
        })
        .collect();
    assert!(
        skipped.is_empty(),
        "{:#?}",
        skipped.iter().map(|w| w.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(l.ruleset.rules.len(), l.collected.rules.len());
    l
}

#[test]
fn stable_ruleset_loads() {
    let l = check_counts(&["falco_rules.yaml"]);
    assert_eq!(
        (
            l.collected.rules.len(),
            l.collected.macros.len(),
            l.collected.lists.len()
        ),
        (25, 87, 49)
    );
    // Every stable rule has an evt.type restriction.
    assert!(l
        .ruleset
        .rules
        .iter()
        .all(|r| r.evttypes.as_ref().is_some_and(|s| !s.is_empty())));
    let r = l
        .ruleset
        .rules
        .iter()
        .find(|r| r.name == "Read sensitive file untrusted")
        .unwrap();
    let t: Vec<&str> = r
        .evttypes
        .as_ref()
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(t, ["open", "openat", "openat2"]);
}

#[test]
fn incubating_and_sandbox_on_stable_load() {
    check_counts(&["falco_rules.yaml", "falco-incubating_rules.yaml"]);
    check_counts(&["falco_rules.yaml", "falco-sandbox_rules.yaml"]);
    let l = check_counts(&[
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]);
    assert_eq!(
        (
            l.collected.rules.len(),
            l.collected.macros.len(),
            l.collected.lists.len()
        ),
        (93, 315, 118)
    );
    assert_eq!(l.collected.rules.iter().filter(|r| !r.enabled).count(), 12);
}

#[test]
fn legacy_ruleset_loads() {
    let l = check_counts(&["falco_rules-1.0.1.yaml"]);
    assert_eq!(
        (
            l.collected.rules.len(),
            l.collected.macros.len(),
            l.collected.lists.len()
        ),
        (80, 297, 117)
    );
    assert!(l
        .warnings
        .iter()
        .any(|w| w.kind == WarningKind::Deprecated && w.message.contains("container.info")));
}

// ---- inline semantics with a mock registry and event ----

/// Fields: proc.name (0), fd.name (1), evt.type (2), proc.pname (3), fd.num (4, i64).
struct Reg;
impl crate::filter::FieldRegistry for Reg {
    fn resolve(
        &self,
        name: &str,
        _arg: Option<&crate::filter::FieldArg>,
        span: crate::filter::Span,
    ) -> Result<FieldInfo, crate::filter::FilterError> {
        use crate::filter::FieldType::*;
        let (id, ty) = match name {
            "proc.name" => (0, Str),
            "fd.name" => (1, Str),
            "evt.type" => (2, Str),
            "proc.pname" => (3, Str),
            "fd.num" => (4, I64),
            _ => return Err(crate::filter::unknown_field(name, span)),
        };
        Ok(FieldInfo::new(id, ty))
    }
}

#[derive(Default)]
pub(super) struct Ev(HashMap<u32, String>);
impl Ev {
    pub(super) fn new(kv: &[(u32, &str)]) -> Self {
        Ev(kv.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }
}
impl FieldSource for Ev {
    fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        match (self.0.get(&f.id), f.id) {
            (Some(v), 4) => v.parse().map(|n| out.push_i64(n)).is_ok(),
            (Some(v), _) => {
                out.push_str(v);
                true
            }
            (None, _) => false,
        }
    }
}
impl OutputSource for Ev {}

pub(super) fn mock_load(y: &str) -> Result<Loaded, RulesError> {
    load(
        &[("t.yaml", y)],
        &Reg,
        Syscalls::default_x86_64(),
        &CompileOptions::default(),
    )
}

pub(super) fn rule<'a>(l: &'a Loaded, name: &str) -> &'a CompiledRule {
    l.ruleset
        .rules
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

pub(super) fn matches(l: &Loaded, name: &str, ev: &[(u32, &str)]) -> bool {
    rule(l, name)
        .filter
        .matches(&mut Ev::new(ev), &mut Scratch::default())
}

pub(super) const BASE: &str = "
- list: shells
  items: [bash, sh]
- list: bins
  items: [shells, cat]
- macro: is_open
  condition: evt.type in (open, openat)
- rule: R
  desc: d
  condition: is_open and proc.name in (bins)
  output: opened %fd.name by %proc.name
  priority: WARNING
  tags: [b, a]
";

#[test]
fn nested_lists_and_macros() {
    let l = mock_load(BASE).unwrap();
    assert!(matches(&l, "R", &[(2, "open"), (0, "bash")]));
    assert!(matches(&l, "R", &[(2, "openat"), (0, "cat")]));
    assert!(!matches(&l, "R", &[(2, "open"), (0, "ls")]));
    assert!(!matches(&l, "R", &[(2, "read"), (0, "cat")]));
}

#[test]
fn list_append_and_override() {
    let y = format!("{BASE}- list: shells\n  items: [zsh]\n  append: true\n- list: bins\n  items: [ls]\n  override:\n    items: append\n");
    let l = mock_load(&y).unwrap();
    for p in ["bash", "zsh", "cat", "ls"] {
        assert!(matches(&l, "R", &[(2, "open"), (0, p)]), "{p}");
    }
    let y = format!("{BASE}- list: bins\n  items: [ls]\n  override:\n    items: replace\n");
    let l = mock_load(&y).unwrap();
    assert!(matches(&l, "R", &[(2, "open"), (0, "ls")]));
    assert!(!matches(&l, "R", &[(2, "open"), (0, "bash")]));
}

#[test]
fn macro_append_and_rule_override() {
    // Macro append joins text with a space; rule condition append likewise.
    let y = format!("{BASE}- macro: is_open\n  condition: or evt.type=creat\n  override:\n    condition: append\n");
    let l = mock_load(&y).unwrap();
    assert!(matches(&l, "R", &[(2, "creat"), (0, "cat")]));
    let y = format!("{BASE}- rule: R\n  condition: and fd.name startswith /etc\n  output: '(x)'\n  tags: [c]\n  priority: ERROR\n  override:\n    condition: append\n    output: append\n    tags: append\n    priority: replace\n");
    let l = mock_load(&y).unwrap();
    let r = rule(&l, "R");
    assert!(matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/etc/x")]));
    assert!(!matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/tmp/x")]));
    assert_eq!(r.priority, Priority::Error);
    assert_eq!(
        r.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let mut ev = Ev::new(&[(1, "/etc/x"), (0, "cat")]);
    assert_eq!(r.output.render(&mut ev), "opened /etc/x by cat (x)");
    // Replace swaps; redefinition keeps position.
    let y = format!("- rule: First\n  desc: d\n  condition: proc.name=a\n  output: o\n  priority: INFO\n{BASE}- rule: First\n  desc: d\n  condition: proc.name=b\n  output: o\n  priority: INFO\n");
    let l = mock_load(&y).unwrap();
    assert_eq!(l.ruleset.rules[0].name, "First");
    assert!(matches(&l, "First", &[(0, "b")]) && !matches(&l, "First", &[(0, "a")]));
}

#[test]
fn enabled_toggles_and_legacy_append() {
    let y = format!("{BASE}- rule: R\n  enabled: false\n");
    let l = mock_load(&y).unwrap();
    assert!(!rule(&l, "R").enabled);
    let y = format!("{BASE}- rule: R\n  condition: and not fd.name=/x\n  append: true\n");
    let l = mock_load(&y).unwrap();
    assert!(!matches(&l, "R", &[(2, "open"), (0, "cat"), (1, "/x")]));
    assert!(l.warnings.iter().any(|w| w.kind == WarningKind::Deprecated));
}

#[test]
fn exceptions_follow_falco() {
    let y = format!(
        "{BASE}  exceptions:
    - name: pairs
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [cat, /etc]
        - [bash, '/my dir']
    - name: single
      fields: proc.pname
      values: [shells, make]
    - name: lst
      fields: [proc.name, fd.name]
      comps: [in, =]
      values:
        - [[sh, zsh], /y]
        - [shells, /z]
    - name: empty
      fields: [proc.name]
"
    );
    let l = mock_load(&y).unwrap();
    let m = |ev: &[(u32, &str)]| matches(&l, "R", ev);
    assert!(m(&[(2, "open"), (0, "cat"), (1, "/tmp/a"), (3, "init")]));
    assert!(
        !m(&[(2, "open"), (0, "cat"), (1, "/etc/passwd"), (3, "init")]),
        "tuple 1"
    );
    assert!(
        !m(&[(2, "open"), (0, "bash"), (1, "/my dir/f"), (3, "init")]),
        "quoted value with a space"
    );
    assert!(
        m(&[(2, "open"), (0, "bash"), (1, "/etc/passwd"), (3, "init")]),
        "tuple fields must all match"
    );
    assert!(
        !m(&[(2, "open"), (0, "cat"), (1, "/a"), (3, "sh")]),
        "single-field form with list name"
    );
    assert!(!m(&[(2, "open"), (0, "cat"), (1, "/a"), (3, "make")]));
    assert!(
        !m(&[(2, "open"), (0, "sh"), (1, "/y"), (3, "x")]),
        "inline list value"
    );
    assert!(
        !m(&[(2, "open"), (0, "bash"), (1, "/z"), (3, "x")]),
        "list name with in"
    );
    assert!(m(&[(2, "open"), (0, "bash"), (1, "/y"), (3, "x")]));
    // Appending values to an existing exception.
    let y2 = format!("{y}- rule: R\n  exceptions:\n    - name: single\n      values: [init]\n  override:\n    exceptions: append\n");
    let l2 = mock_load(&y2).unwrap();
    assert!(!matches(
        &l2,
        "R",
        &[(2, "open"), (0, "cat"), (1, "/tmp/a"), (3, "init")]
    ));
}

#[test]
fn exception_errors() {
    let bad = |exc: &str| {
        let y = format!("{BASE}  exceptions:\n{exc}");
        mock_load(&y).unwrap_err().to_string()
    };
    let e = bad("    - name: x\n      fields: [proc.name, fd.name]\n      values: [[a]]\n");
    assert!(
        e.contains("fields and values lists must have equal length"),
        "{e}"
    );
    let e =
        bad("    - name: x\n      fields: [proc.name]\n      comps: [=, =]\n      values: [[a]]\n");
    assert!(
        e.contains("fields and comps lists must have equal length"),
        "{e}"
    );
    let e = bad("    - name: x\n      fields: proc.name\n      comps: =\n      values: [a]\n");
    assert!(e.contains("cannot be used with a single field"), "{e}");
    let e = bad("    - name: x\n      fields: [proc.nam]\n      values: [[a]]\n");
    assert!(e.contains("invalid field 'proc.nam'"), "{e}");
    let e =
        bad("    - name: x\n      fields: [proc.name]\n      comps: [like]\n      values: [[a]]\n");
    assert!(e.contains("'like' is not a supported"), "{e}");
}

#[test]
fn condition_errors_point_into_macros() {
    let y = "- macro: m\n  condition: proc.name = cat and fd.nmae = x\n- rule: R\n  desc: d\n  condition: evt.type=open and m\n  output: o\n  priority: INFO\n";
    let e = mock_load(y).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("t.yaml:2:14: macro 'm': unknown field 'fd.nmae'"),
        "{s}"
    );
    assert!(
        s.ends_with("at 1:21\n | proc.name = cat and fd.nmae = x\n |                     ^^^^^^^"),
        "{s}"
    );
    let RulesError::Condition(c) = e else {
        panic!()
    };
    assert_eq!(c.in_rule.as_deref(), Some("R"));
    // Macro visibility: a macro cannot use one defined after it; a rule can.
    let y = "- macro: a\n  condition: b\n- macro: b\n  condition: proc.name=x\n";
    assert!(mock_load(y)
        .unwrap_err()
        .to_string()
        .contains("Undefined macro 'b'"));
}

#[test]
fn plugin_fields_and_sources_are_skipped() {
    let y = "- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n  - name: container\n    version: 0.4.0\n\
- rule: K\n  desc: d\n  condition: ka.verb=create\n  output: o\n  priority: INFO\n  source: k8s_audit\n\
- rule: P\n  desc: d\n  condition: evt.type=open and jevt.value[/x]=1\n  output: o\n  priority: INFO\n\
- rule: S\n  desc: d\n  condition: evt.type=open and proc.nope=1\n  output: o\n  priority: INFO\n  skip-if-unknown-filter: true\n";
    let l = mock_load(y).unwrap();
    assert!(l.ruleset.rules.is_empty());
    let kinds: Vec<_> = l.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds,
        [
            WarningKind::PluginRequirement,
            WarningKind::UnknownSource,
            WarningKind::UnknownField,
            WarningKind::UnknownField
        ]
    );
    let y = "- rule: S\n  desc: d\n  condition: evt.type=open and proc.nope=1\n  output: o\n  priority: INFO\n";
    assert!(mock_load(y)
        .unwrap_err()
        .to_string()
        .contains("unknown field 'proc.nope'"));
}

fn engine(y: &str, opts: EngineOptions) -> Engine {
    let l = mock_load(y).unwrap();
    let t = Syscalls::default_x86_64();
    Engine::new(l.ruleset, opts, NCODES, &type_of(t))
}

fn run(e: &Engine, code_name: &str, ev: &[(u32, &str)]) -> Vec<String> {
    let code = Syscalls::default_x86_64().codes(code_name)[0];
    let mut out = Vec::new();
    let mut src = Ev::new(ev);
    src.0.insert(2, code_name.to_string());
    e.process(
        code,
        1_470_327_477_881_781_397,
        &mut src,
        &mut Scratch::default(),
        &mut out,
    );
    out.into_iter().map(|a| a.rule.to_string()).collect()
}

const SEL: &str = "
- rule: A
  desc: d
  condition: evt.type=open and proc.name=cat
  output: a %proc.name
  priority: WARNING
  tags: [t1]
- rule: B
  desc: d
  condition: evt.type=open and proc.name=cat
  output: b
  priority: DEBUG
  tags: [t2]
- rule: C
  desc: d
  condition: proc.name=cat
  output: c
  priority: CRITICAL
  tags: [t1, t2]
  warn_evttypes: false
- rule: D
  desc: d
  condition: evt.type=open and proc.name=cat
  output: d
  priority: ERROR
  enabled: false
  tags: [t3]
";

#[test]
fn first_all_tags_priority() {
    let ev = [(0, "cat")];
    let first = engine(SEL, EngineOptions::default());
    assert_eq!(run(&first, "open", &ev), ["A"]);
    assert_eq!(run(&first, "read", &ev), ["C"]);
    let all = EngineOptions {
        rule_matching: RuleMatching::All,
        ..Default::default()
    };
    // A type-specific match hides the catch-all rule C.
    assert_eq!(run(&engine(SEL, all.clone()), "open", &ev), ["A", "B"]);
    let o = EngineOptions {
        disable_tags: vec!["t1".into()],
        ..all.clone()
    };
    assert_eq!(run(&engine(SEL, o), "open", &ev), ["B"]);
    let o = EngineOptions {
        enable_tags: vec!["t2".into()],
        ..all.clone()
    };
    assert_eq!(run(&engine(SEL, o.clone()), "open", &ev), ["B"]);
    assert_eq!(run(&engine(SEL, o), "read", &ev), ["C"]);
    let o = EngineOptions {
        enable_tags: vec!["t3".into()],
        ..all.clone()
    };
    assert_eq!(
        run(&engine(SEL, o), "open", &ev),
        ["D"],
        "-t enables rules disabled in the file"
    );
    let o = EngineOptions {
        min_priority: Priority::Warning,
        ..all
    };
    assert_eq!(run(&engine(SEL, o), "open", &ev), ["A"]);
}

#[test]
fn alert_formats() {
    let e = engine(
        SEL,
        EngineOptions {
            hostname: "h".into(),
            ..Default::default()
        },
    );
    let mut out = Vec::new();
    let code = Syscalls::default_x86_64().codes("open")[0];
    e.process(
        code,
        1_470_327_477_881_781_397,
        &mut Ev::new(&[(0, "cat"), (2, "open")]),
        &mut Scratch::default(),
        &mut out,
    );
    assert_eq!(out[0].text(), "16:17:57.881781397: Warning a cat");
    assert_eq!(
        out[0].json().to_string(),
        r#"{"hostname":"h","output":"16:17:57.881781397: Warning a cat","output_fields":{"evt.time":1470327477881781397,"proc.name":"cat"},"priority":"Warning","rule":"A","source":"syscall","tags":["t1"],"time":"2016-08-04T16:17:57.881781397Z"}"#
    );
}
