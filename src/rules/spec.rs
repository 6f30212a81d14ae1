//! `saker test` specs: a small YAML naming a capture, rules files, engine options and the
//! expected alerts (count per rule, and optionally the exact text lines).
//!
//! ```yaml
//! capture: cat_write.scap          # relative to the spec file
//! rules: [my_rules.yaml]
//! options: {rule_matching: all, min_priority: notice, enable_tags: [], disable_tags: []}
//! expect:
//!   counts: {"Open by cat": 8}      # every rule not listed must raise no alert
//!   outputs: ["16:17:57.881781397: Warning …"]   # optional, exact and in order
//! ```
//!
//! Owns parsing, comparison and the `--bless` rewrite; the CLI does the I/O.

use super::engine::{EngineOptions, RuleMatching};
use super::error::{escape, Loc, RulesError};
use super::items::Priority;
use super::yaml::{self, Kind, Node};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A parsed spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Capture path as written.
    pub capture: String,
    /// Rules files as written.
    pub rules: Vec<String>,
    /// `rule_matching`.
    pub rule_matching: RuleMatching,
    /// `min_priority`.
    pub min_priority: Priority,
    /// `enable_tags`.
    pub enable_tags: Vec<String>,
    /// `disable_tags`.
    pub disable_tags: Vec<String>,
    /// Expected alert count per rule.
    pub counts: BTreeMap<String, u64>,
    /// Expected text lines, if given.
    pub outputs: Option<Vec<String>>,
    /// The `#` comment lines the file starts with (kept by `--bless`).
    pub comments: Vec<String>,
}

impl Spec {
    /// Engine options of the spec.
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            rule_matching: self.rule_matching,
            min_priority: self.min_priority,
            enable_tags: self.enable_tags.clone(),
            disable_tags: self.disable_tags.clone(),
            hostname: String::new(),
        }
    }

    /// Parses a spec file's text.
    pub fn parse(file: &str, text: &str) -> Result<Spec, RulesError> {
        let file: Arc<str> = file.into();
        let err = |n: Option<&Node>, message: String| RulesError::Schema {
            loc: Loc {
                file: file.clone(),
                line: n.map_or(1, |n| n.line),
                col: n.map_or(1, |n| n.col),
            },
            item: None,
            message,
        };
        let docs = yaml::load(text).map_err(|e| RulesError::Yaml {
            loc: Loc {
                file: file.clone(),
                line: e.line,
                col: e.col,
            },
            message: e.message,
        })?;
        let Some(root) = docs.first() else {
            return Err(err(None, "empty spec".into()));
        };
        let get = |n: &'_ Node, k: &str| -> Option<Node> {
            match &n.kind {
                Kind::Map(m) => m
                    .iter()
                    .find(|(key, _)| matches!(&key.kind, Kind::Scalar { value, .. } if value == k))
                    .map(|(_, v)| v.clone()),
                _ => None,
            }
        };
        let s = |n: &Node, what: &str| match &n.kind {
            Kind::Scalar { value, .. } => Ok(value.clone()),
            _ => Err(err(Some(n), format!("'{what}' must be a scalar"))),
        };
        let strs = |n: Option<Node>, what: &str| -> Result<Vec<String>, RulesError> {
            match n.as_ref().map(|n| &n.kind) {
                None => Ok(Vec::new()),
                Some(Kind::Seq(v)) => v.iter().map(|x| s(x, what)).collect(),
                Some(Kind::Scalar { .. }) => Ok(vec![s(n.as_ref().expect("some"), what)?]),
                Some(_) => Err(err(n.as_ref(), format!("'{what}' must be a list"))),
            }
        };
        if !matches!(root.kind, Kind::Map(_)) {
            return Err(err(Some(root), "a spec is a map".into()));
        }
        let capture =
            get(root, "capture").ok_or_else(|| err(Some(root), "spec has no 'capture'".into()))?;
        let capture = s(&capture, "capture")?;
        let rules = strs(get(root, "rules"), "rules")?;
        let opts = get(root, "options");
        let opt = |k: &str| opts.as_ref().and_then(|o| get(o, k));
        let rule_matching = match opt("rule_matching")
            .map(|n| s(&n, "rule_matching"))
            .transpose()?
            .as_deref()
        {
            None | Some("first") => RuleMatching::First,
            Some("all") => RuleMatching::All,
            Some(o) => {
                return Err(err(
                    opts.as_ref(),
                    format!("rule_matching must be first or all, not '{}'", escape(o)),
                ))
            }
        };
        let min_priority = match opt("min_priority") {
            None => Priority::Debug,
            Some(n) => {
                let t = s(&n, "min_priority")?;
                Priority::parse(&t)
                    .ok_or_else(|| err(Some(&n), format!("invalid priority '{}'", escape(&t))))?
            }
        };
        let expect = get(root, "expect");
        let mut counts = BTreeMap::new();
        if let Some(c) = expect.as_ref().and_then(|e| get(e, "counts")) {
            let Kind::Map(m) = &c.kind else {
                return Err(err(Some(&c), "'counts' must be a map".into()));
            };
            for (k, v) in m {
                let n = s(v, "count")?;
                let n = n
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| err(Some(v), format!("count '{}' is not a number", escape(&n))))?;
                counts.insert(s(k, "rule")?, n);
            }
        }
        let outputs = match expect.as_ref().and_then(|e| get(e, "outputs")) {
            None => None,
            Some(o) => Some(strs(Some(o), "outputs")?),
        };
        Ok(Spec {
            capture,
            rules,
            rule_matching,
            min_priority,
            enable_tags: strs(opt("enable_tags"), "enable_tags")?,
            disable_tags: strs(opt("disable_tags"), "disable_tags")?,
            counts,
            outputs,
            comments: text
                .lines()
                .take_while(|l| l.trim_start().starts_with('#'))
                .map(str::to_string)
                .collect(),
        })
    }

    /// Differences between this spec's expectations and actual results (empty = pass).
    pub fn diff(&self, counts: &BTreeMap<String, u64>, outputs: &[String]) -> Vec<String> {
        let mut d = Vec::new();
        let names: std::collections::BTreeSet<&String> =
            self.counts.keys().chain(counts.keys()).collect();
        for n in names {
            let (e, a) = (
                self.counts.get(n).copied().unwrap_or(0),
                counts.get(n).copied().unwrap_or(0),
            );
            if e != a {
                d.push(format!(
                    "rule '{}': expected {e} alerts, got {a}",
                    escape(n)
                ));
            }
        }
        if let Some(exp) = &self.outputs {
            for i in 0..exp.len().max(outputs.len()) {
                match (exp.get(i), outputs.get(i)) {
                    (Some(e), Some(a)) if e == a => {}
                    (e, a) => {
                        if let Some(e) = e {
                            d.push(format!("- {}", escape(e)));
                        }
                        if let Some(a) = a {
                            d.push(format!("+ {}", escape(a)));
                        }
                    }
                }
            }
        }
        d
    }

    /// The spec text with its expectations replaced by actual results (`--bless`).
    pub fn bless(&self, counts: &BTreeMap<String, u64>, outputs: Option<&[String]>) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
        let mut out: String = self.comments.iter().map(|c| format!("{c}\n")).collect();
        out.push_str(&format!(
            "capture: {}\nrules: [{}]\noptions:\n",
            q(&self.capture),
            list(&self.rules)
        ));
        out.push_str(&format!(
            "  rule_matching: {}\n  min_priority: {}\n  enable_tags: [{}]\n  disable_tags: [{}]\nexpect:\n  counts:{}\n",
            if self.rule_matching == RuleMatching::All { "all" } else { "first" },
            self.min_priority.as_str().to_ascii_lowercase(),
            list(&self.enable_tags),
            list(&self.disable_tags),
            if counts.is_empty() { " {}" } else { "" }
        ));
        for (k, v) in counts {
            out.push_str(&format!("    {}: {v}\n", q(k)));
        }
        if let Some(o) = outputs {
            out.push_str("  outputs:\n");
            for l in o {
                out.push_str(&format!("    - {}\n", q(l)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_diff_bless_roundtrip() {
        let t = "capture: a.scap\nrules: [r.yaml]\noptions: {rule_matching: all, min_priority: notice}\nexpect:\n  counts: {\"R 1\": 2}\n  outputs: [\"x: y\"]\n";
        let s = Spec::parse("s.yaml", t).unwrap();
        assert_eq!(s.rule_matching, RuleMatching::All);
        assert_eq!(s.min_priority, Priority::Notice);
        let mut c = BTreeMap::new();
        c.insert("R 1".to_string(), 2u64);
        assert!(s.diff(&c, &["x: y".into()]).is_empty());
        c.insert("Other".to_string(), 1);
        assert_eq!(
            s.diff(&c, &["x: z".into()]),
            ["rule 'Other': expected 0 alerts, got 1", "- x: y", "+ x: z"]
        );
        let b = s.bless(&c, Some(&["x: z".to_string()]));
        let s2 = Spec::parse("s.yaml", &b).unwrap();
        assert!(s2.diff(&c, &["x: z".into()]).is_empty(), "{b}");
        // No alerts bless to an empty map; leading comments stay.
        let s = Spec::parse("s.yaml", &format!("# why\n# more\n{t}")).unwrap();
        let b = s.bless(&BTreeMap::new(), None);
        assert!(b.starts_with("# why\n# more\ncapture: "), "{b}");
        assert!(b.ends_with("expect:\n  counts: {}\n"), "{b}");
        assert!(Spec::parse("s.yaml", &b).unwrap().counts.is_empty());
        assert!(Spec::parse("s", "rules: []\n")
            .unwrap_err()
            .to_string()
            .contains("no 'capture'"));
    }
}
