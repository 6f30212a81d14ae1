//! Phase 1 (Falco's `rule_loader_reader`): rules-file YAML → [`Item`]s with positions.
//!
//! Owns YAML decoding and the per-item schema (which keys exist, their shapes). It does no
//! I/O and applies nothing: redefinitions, `append` and `override` are the collector's.
//! YAML is read by [`super::yaml`] (libyaml semantics) without scalar resolution, so every
//! scalar keeps its original text as yaml-cpp's `Scalar()` does (`1.0` stays `1.0`).

use super::error::{ItemKind, Loc, RulesError, Warning, WarningKind};
use super::items::*;
use super::yaml::{self, Kind, Node};
use std::sync::Arc;

/// Reads one rules file. `file` names it in positions; `text` is its content.
pub fn read(file: &str, text: &str) -> Result<(Vec<Item>, Vec<Warning>), RulesError> {
    let file: Arc<str> = file.into();
    let docs = yaml::load(text).map_err(|e| RulesError::Yaml {
        loc: Loc { file: file.clone(), line: e.line, col: e.col },
        message: e.message,
    })?;
    let mut r = Reader {
        file,
        warnings: Vec::new(),
    };
    let mut items = Vec::new();
    for doc in &docs {
        match &doc.kind {
            Kind::Seq(seq) => {
                for el in seq {
                    if let Some(item) = r.item(el)? {
                        items.push(item);
                    }
                }
            }
            _ if is_null(doc) => {}
            _ => {
                return Err(r.schema(doc, None, "rules content is not a YAML sequence of maps"));
            }
        }
    }
    Ok((items, r.warnings))
}

/// The text of a scalar node, if it is one.
fn scalar(n: &Node) -> Option<&str> {
    match &n.kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

fn is_null(n: &Node) -> bool {
    matches!(&n.kind, Kind::Scalar { value, plain: true } if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

/// yaml-cpp's boolean spellings.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            Some(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            Some(false)
        }
        _ => None,
    }
}

type Map<'a> = Vec<(&'a str, &'a Node, &'a Node)>;

struct Reader {
    file: Arc<str>,
    warnings: Vec<Warning>,
}

impl Reader {
    fn loc(&self, n: &Node) -> Loc {
        Loc { file: self.file.clone(), line: n.line, col: n.col }
    }

    fn schema(
        &self,
        n: &Node,
        item: Option<(ItemKind, &str)>,
        msg: impl Into<String>,
    ) -> RulesError {
        RulesError::Schema {
            loc: self.loc(n),
            item: item.map(|(k, s)| (k, s.to_string())),
            message: msg.into(),
        }
    }

    fn warn(&mut self, n: &Node, item: Option<(ItemKind, &str)>, msg: String) {
        self.warnings.push(Warning {
            kind: WarningKind::UnknownKey,
            loc: self.loc(n),
            item: item.map(|(k, s)| (k, s.to_string())),
            message: msg,
        });
    }

    /// The entries of a map with scalar keys.
    fn map<'a>(
        &self,
        n: &'a Node,
        item: Option<(ItemKind, &str)>,
    ) -> Result<Map<'a>, RulesError> {
        let Kind::Map(m) = &n.kind else {
            return Err(self.schema(
                n,
                item,
                "unexpected element type: each element should be a YAML map",
            ));
        };
        m.iter()
            .map(|(k, v)| match scalar(k) {
                Some(s) => Ok((s, k, v)),
                None => Err(self.schema(k, item, "map keys must be scalars")),
            })
            .collect()
    }

    fn text(
        &self,
        v: &Node,
        key: &str,
        item: Option<(ItemKind, &str)>,
    ) -> Result<Text, RulesError> {
        match scalar(v) {
            Some(s) if !is_null(v) || !s.is_empty() => Ok(Text {
                value: s.to_string(),
                loc: self.loc(v),
            }),
            _ => Err(self.schema(v, item, format!("value of '{key}' must be a scalar"))),
        }
    }

    fn boolean(
        &self,
        v: &Node,
        key: &str,
        item: Option<(ItemKind, &str)>,
    ) -> Result<bool, RulesError> {
        scalar(v)
            .and_then(parse_bool)
            .ok_or_else(|| self.schema(v, item, format!("value of '{key}' must be a boolean")))
    }

    fn seq<'a>(
        &self,
        v: &'a Node,
        key: &str,
        item: Option<(ItemKind, &str)>,
    ) -> Result<&'a [Node], RulesError> {
        match &v.kind {
            Kind::Seq(s) => Ok(s),
            _ if is_null(v) => Ok(&[]),
            _ => Err(self.schema(v, item, format!("value of '{key}' must be a sequence"))),
        }
    }

    fn texts(
        &self,
        v: &Node,
        key: &str,
        item: Option<(ItemKind, &str)>,
    ) -> Result<Vec<Text>, RulesError> {
        self.seq(v, key, item)?
            .iter()
            .map(|e| self.text(e, key, item))
            .collect()
    }

    fn overrides(
        &self,
        v: &Node,
        item: Option<(ItemKind, &str)>,
    ) -> Result<Vec<Override>, RulesError> {
        let mut out = Vec::new();
        for (k, kn, val) in self.map(v, item)? {
            let mode = match scalar(val) {
                Some("append") => OverrideMode::Append,
                Some("replace") => OverrideMode::Replace,
                _ => {
                    return Err(self.schema(
                        val,
                        item,
                        format!("override of '{k}' must be 'append' or 'replace'"),
                    ))
                }
            };
            out.push(Override {
                key: k.to_string(),
                mode,
                loc: self.loc(kn),
            });
        }
        Ok(out)
    }

    fn item(&mut self, el: &Node) -> Result<Option<Item>, RulesError> {
        let map = self.map(el, None)?;
        let get = |k: &str| map.iter().find(|(name, _, _)| *name == k).map(|e| e.2);
        if let Some(v) = get("required_engine_version") {
            let version = self.text(v, "required_engine_version", None)?;
            return Ok(Some(Item::EngineVersion(EngineVersionReq { version })));
        }
        if let Some(v) = get("required_plugin_versions") {
            return Ok(Some(Item::PluginVersions(self.plugins(v)?, self.loc(el))));
        }
        if let Some(v) = get("list") {
            return Ok(Some(Item::List(self.list(el, &map, v)?)));
        }
        if let Some(v) = get("macro") {
            return Ok(Some(Item::Macro(self.macro_item(el, &map, v)?)));
        }
        if let Some(v) = get("rule") {
            return Ok(Some(Item::Rule(Box::new(self.rule(el, &map, v)?))));
        }
        let keys: Vec<&str> = map.iter().map(|e| e.0).collect();
        self.warn(
            el,
            None,
            format!("unknown top-level item with keys {keys:?} ignored"),
        );
        Ok(None)
    }

    fn plugins(&self, v: &Node) -> Result<Vec<PluginReq>, RulesError> {
        let key = "required_plugin_versions";
        let mut out = Vec::new();
        for p in self.seq(v, key, None)? {
            let m = self.map(p, None)?;
            let get = |k: &str| m.iter().find(|e| e.0 == k).map(|e| e.2);
            let name_version = |n: &Node| -> Result<(Text, Text), RulesError> {
                let m = self.map(n, None)?;
                let get = |k: &str| m.iter().find(|e| e.0 == k).map(|e| e.2);
                let name = get("name")
                    .ok_or_else(|| self.schema(n, None, "plugin requirement has no 'name'"))?;
                let version = get("version")
                    .ok_or_else(|| self.schema(n, None, "plugin requirement has no 'version'"))?;
                Ok((
                    self.text(name, "name", None)?,
                    self.text(version, "version", None)?,
                ))
            };
            let (name, version) = name_version(p)?;
            let mut alternatives = Vec::new();
            if let Some(a) = get("alternatives") {
                for alt in self.seq(a, "alternatives", None)? {
                    alternatives.push(name_version(alt)?);
                }
            }
            out.push(PluginReq {
                name,
                version,
                alternatives,
            });
        }
        Ok(out)
    }

    fn list(
        &mut self,
        el: &Node,
        map: &Map<'_>,
        name: &Node,
    ) -> Result<ListItem, RulesError> {
        let name = self.text(name, "list", None)?;
        let it = Some((ItemKind::List, name.value.as_str()));
        let mut out = ListItem {
            name: name.clone(),
            items: None,
            append: false,
            overrides: Vec::new(),
            loc: self.loc(el),
        };
        for (k, kn, v) in map {
            match *k {
                "list" => {}
                "items" => out.items = Some(self.texts(v, k, it)?),
                "append" => out.append = self.boolean(v, k, it)?,
                "override" => out.overrides = self.overrides(v, it)?,
                _ => self.warn(kn, it, format!("unknown key '{k}' ignored")),
            }
        }
        if out.items.is_none() {
            return Err(self.schema(el, it, "item has no mapping for key 'items'"));
        }
        Ok(out)
    }

    fn macro_item(
        &mut self,
        el: &Node,
        map: &Map<'_>,
        name: &Node,
    ) -> Result<MacroItem, RulesError> {
        let name = self.text(name, "macro", None)?;
        let it = Some((ItemKind::Macro, name.value.as_str()));
        let mut out = MacroItem {
            name: name.clone(),
            condition: None,
            append: false,
            overrides: Vec::new(),
            loc: self.loc(el),
        };
        for (k, kn, v) in map {
            match *k {
                "macro" => {}
                "condition" => out.condition = Some(self.text(v, k, it)?),
                "append" => out.append = self.boolean(v, k, it)?,
                "override" => out.overrides = self.overrides(v, it)?,
                _ => self.warn(kn, it, format!("unknown key '{k}' ignored")),
            }
        }
        if out.condition.is_none() {
            return Err(self.schema(el, it, "item has no mapping for key 'condition'"));
        }
        Ok(out)
    }

    fn rule(
        &mut self,
        el: &Node,
        map: &Map<'_>,
        name: &Node,
    ) -> Result<RuleItem, RulesError> {
        let name = self.text(name, "rule", None)?;
        let n = name.value.clone();
        let it = Some((ItemKind::Rule, n.as_str()));
        let mut r = RuleItem {
            name,
            condition: None,
            output: None,
            desc: None,
            priority: None,
            source: None,
            enabled: None,
            tags: None,
            exceptions: None,
            skip_if_unknown_filter: None,
            warn_evttypes: None,
            capture: None,
            capture_duration: None,
            append: false,
            overrides: Vec::new(),
            keys: Vec::new(),
            loc: self.loc(el),
        };
        for (k, kn, v) in map {
            match *k {
                "rule" => continue,
                "append" => {
                    r.append = self.boolean(v, k, it)?;
                    continue;
                }
                "override" => {
                    r.overrides = self.overrides(v, it)?;
                    continue;
                }
                "condition" => r.condition = Some(self.text(v, k, it)?),
                "output" => r.output = Some(self.text(v, k, it)?),
                "desc" => r.desc = Some(self.text(v, k, it)?),
                "source" => r.source = Some(self.text(v, k, it)?),
                "priority" => {
                    let t = self.text(v, k, it)?;
                    let p = Priority::parse(&t.value).ok_or_else(|| {
                        self.schema(
                            v,
                            it,
                            format!(
                                "invalid priority '{}' (expected one of Emergency, Alert, \
                                 Critical, Error, Warning, Notice, Informational, Debug)",
                                super::error::escape(&t.value)
                            ),
                        )
                    })?;
                    r.priority = Some((p, t.loc));
                }
                "enabled" => r.enabled = Some(self.boolean(v, k, it)?),
                "skip-if-unknown-filter" => r.skip_if_unknown_filter = Some(self.boolean(v, k, it)?),
                "warn_evttypes" => r.warn_evttypes = Some(self.boolean(v, k, it)?),
                "capture" => r.capture = Some(self.boolean(v, k, it)?),
                "capture_duration" => {
                    let t = self.text(v, k, it)?;
                    r.capture_duration = Some(t.value.trim().parse().map_err(|_| {
                        self.schema(v, it, "value of 'capture_duration' must be an integer")
                    })?);
                }
                "tags" => {
                    r.tags = Some(
                        self.texts(v, k, it)?
                            .into_iter()
                            .map(|t| t.value)
                            .collect(),
                    )
                }
                "exceptions" => {
                    let mut excs = Vec::new();
                    for e in self.seq(v, k, it)? {
                        excs.push(self.exception(e, &n)?);
                    }
                    r.exceptions = Some(excs);
                }
                _ => {
                    self.warn(kn, it, format!("unknown key '{k}' ignored"));
                    continue;
                }
            }
            r.keys.push((k.to_string(), self.loc(kn)));
        }
        Ok(r)
    }

    fn one_or_many(
        &self,
        v: &Node,
        key: &str,
        it: Option<(ItemKind, &str)>,
    ) -> Result<OneOrMany, RulesError> {
        match &v.kind {
            Kind::Seq(_) => Ok(OneOrMany::Many(self.texts(v, key, it)?)),
            _ => Ok(OneOrMany::One(self.text(v, key, it)?)),
        }
    }

    fn exc_value(&self, v: &Node, it: Option<(ItemKind, &str)>) -> Result<ExcValue, RulesError> {
        match &v.kind {
            Kind::Seq(_) => Ok(ExcValue::List(self.texts(v, "values", it)?)),
            _ => Ok(ExcValue::Scalar(self.text(v, "values", it)?)),
        }
    }

    fn exception(&mut self, e: &Node, rule: &str) -> Result<Exception, RulesError> {
        let it = Some((ItemKind::Rule, rule));
        let map = self.map(e, it)?;
        let get = |k: &str| map.iter().find(|x| x.0 == k).map(|x| x.2);
        let name = get("name")
            .ok_or_else(|| self.schema(e, it, "exception has no mapping for key 'name'"))?;
        let name = self.text(name, "name", it)?;
        let fields = get("fields")
            .map(|v| self.one_or_many(v, "fields", it))
            .transpose()?;
        let comps = get("comps")
            .map(|v| self.one_or_many(v, "comps", it))
            .transpose()?;
        let mut values = Vec::new();
        if let Some(v) = get("values") {
            for entry in self.seq(v, "values", it)? {
                let loc = self.loc(entry);
                values.push(match &entry.kind {
                    Kind::Seq(s) => ExcEntry::Tuple(
                        s.iter()
                            .map(|x| self.exc_value(x, it))
                            .collect::<Result<_, _>>()?,
                        loc,
                    ),
                    _ => ExcEntry::Single(self.exc_value(entry, it)?, loc),
                });
            }
        }
        for (k, kn, _) in &map {
            if !matches!(*k, "name" | "fields" | "comps" | "values") {
                self.warn(kn, it, format!("unknown exception key '{k}' ignored"));
            }
        }
        Ok(Exception {
            name,
            fields,
            comps,
            values,
            loc: self.loc(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_items_with_positions() {
        let y = "- required_engine_version: 0.57.0\n- list: l\n  items: [a, \"b c\", 1.0]\n\
                 - macro: m\n  condition: >\n    proc.name in (l)\n    and fd.num=1\n\
                 - rule: r\n  desc: d\n  condition: m\n  output: o %proc.name\n  priority:\n    WARNING\n  tags: [x, y]\n  bogus: 1\n";
        let (items, warns) = read("f.yaml", y).unwrap();
        assert_eq!(items.len(), 4);
        let Item::List(l) = &items[1] else { panic!() };
        let v: Vec<_> = l.items.as_ref().unwrap().iter().map(|t| t.value.as_str()).collect();
        assert_eq!(v, ["a", "b c", "1.0"]);
        assert_eq!((l.loc.line, l.loc.col), (2, 3));
        let Item::Macro(m) = &items[2] else { panic!() };
        assert_eq!(m.condition.as_ref().unwrap().value, "proc.name in (l) and fd.num=1\n");
        let Item::Rule(r) = &items[3] else { panic!() };
        assert_eq!(r.priority.as_ref().unwrap().0, Priority::Warning);
        assert_eq!(r.tags.as_deref(), Some(&["x".to_string(), "y".to_string()][..]));
        assert_eq!(warns.len(), 1);
        assert_eq!(warns[0].to_string(), "f.yaml:15:3: warning: rule 'r': unknown key 'bogus' ignored");
    }

    #[test]
    fn errors_have_positions() {
        let e = read("f", "- rule: r\n  priority: LOUD\n").unwrap_err();
        assert!(e.to_string().starts_with("f:2:13: rule 'r': invalid priority 'LOUD'"), "{e}");
        let e = read("f", "- list: l\n  items: [a\n").unwrap_err();
        assert!(matches!(e, RulesError::Yaml { .. }), "{e}");
        let e = read("f", "a: b\n").unwrap_err();
        assert!(e.to_string().contains("not a YAML sequence"), "{e}");
        let deep = format!("- {}{}", "[".repeat(100), "]".repeat(100));
        let e = read("f", &deep).unwrap_err();
        assert!(e.to_string().contains("nesting deeper"), "{e}");
        assert!(read("f", "").unwrap().0.is_empty());
        assert!(read("f", "---\n- list: a\n  items: []\n---\n- list: b\n  items: []\n").unwrap().0.len() == 2);
    }
}
