//! Rule `append: true` and `override:` semantics (part of the collector phase).
//!
//! Owns how an item changes an existing rule: legacy append (condition and exceptions
//! only), and per-key `append`/`replace` overrides with Falco's allowed key sets. Text is
//! joined with one space; tags merge as a set; exceptions with the same name gain values.

use super::collector::{def_err, mode_of, Collector, Cond};
use super::error::{ItemKind, RulesError, WarningKind};
use super::items::{Exception, OverrideMode, RuleItem};

impl Collector {
    pub(super) fn append_rule(
        &mut self,
        r: RuleItem,
        existing: Option<usize>,
    ) -> Result<(), RulesError> {
        let name = r.name.value.clone();
        let k = ItemKind::Rule;
        self.warn(
            WarningKind::Deprecated,
            &r.loc,
            Some((k, &name)),
            "'append' is deprecated; use 'override'".into(),
        );
        let Some(i) = existing else {
            return Err(def_err(
                &r.loc,
                k,
                &name,
                "rule has 'append' key but no rule by that name already exists",
            ));
        };
        if r.condition.is_none() && r.exceptions.is_none() {
            return Err(def_err(
                &r.loc,
                k,
                &name,
                "appended rule must have exceptions or condition property",
            ));
        }
        if let Some((key, loc)) = r
            .keys
            .iter()
            .find(|(key, _)| !matches!(key.as_str(), "condition" | "exceptions"))
        {
            return Err(def_err(loc, k, &name, format!("key '{key}' cannot be appended (only 'condition' and 'exceptions'); use 'override'")));
        }
        if let Some(c) = r.condition {
            self.out.rules[i].condition.parts.push(c);
        }
        if let Some(excs) = r.exceptions {
            self.append_exceptions(i, excs)?;
        }
        Ok(())
    }

    fn append_exceptions(&mut self, i: usize, excs: Vec<Exception>) -> Result<(), RulesError> {
        let rule = &mut self.out.rules[i];
        for e in excs {
            if let Some(prev) = rule
                .exceptions
                .iter_mut()
                .find(|p| p.name.value == e.name.value)
            {
                if e.fields.is_some() || e.comps.is_some() {
                    return Err(RulesError::Exception {
                        loc: e.loc.clone(),
                        rule: rule.name.clone(),
                        exception: e.name.value.clone(),
                        message: "can not append exception fields or comps to an existing exception, only values".into(),
                    });
                }
                prev.values.extend(e.values);
            } else {
                rule.exceptions.push(e);
            }
        }
        Ok(())
    }

    pub(super) fn override_rule(
        &mut self,
        r: RuleItem,
        existing: Option<usize>,
    ) -> Result<(), RulesError> {
        let name = r.name.value.clone();
        let k = ItemKind::Rule;
        let Some(i) = existing else {
            return Err(def_err(
                &r.loc,
                k,
                &name,
                "rule has an override, but no rule by that name already exists",
            ));
        };
        const APPEND: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
        const REPLACE: &[&str] = &[
            "condition",
            "output",
            "desc",
            "priority",
            "tags",
            "exceptions",
            "enabled",
            "warn_evttypes",
            "capture",
            "capture_duration",
            "skip-if-unknown-filter",
        ];
        for o in &r.overrides {
            let allowed = match o.mode {
                OverrideMode::Append => APPEND,
                OverrideMode::Replace => REPLACE,
            };
            if !allowed.contains(&o.key.as_str()) {
                let mode = if o.mode == OverrideMode::Append {
                    "append"
                } else {
                    "replace"
                };
                return Err(def_err(
                    &o.loc,
                    k,
                    &name,
                    format!("key '{}' cannot be overridden with '{mode}'", o.key),
                ));
            }
            if !r.keys.iter().any(|(key, _)| *key == o.key) {
                return Err(def_err(
                    &o.loc,
                    k,
                    &name,
                    format!(
                        "an override is given for key '{}', but the item has no '{}'",
                        o.key, o.key
                    ),
                ));
            }
        }
        if let Some((key, loc)) = r
            .keys
            .iter()
            .find(|(key, _)| mode_of(&r.overrides, key).is_none())
        {
            return Err(def_err(
                loc,
                k,
                &name,
                format!("key '{key}' must be listed under 'override' (append or replace)"),
            ));
        }
        let ov = &r.overrides;
        let append = |key: &str| mode_of(ov, key) == Some(OverrideMode::Append);
        let excs = r.exceptions;
        let def = &mut self.out.rules[i];
        if let Some(c) = r.condition {
            if append("condition") {
                def.condition.parts.push(c);
            } else {
                def.condition = Cond { parts: vec![c] };
            }
        }
        if let Some(o) = r.output {
            if append("output") {
                def.output = format!("{} {}", def.output, o.value);
            } else {
                def.output = o.value;
            }
        }
        if let Some(d) = r.desc {
            if append("desc") {
                def.desc = format!("{} {}", def.desc, d.value);
            } else {
                def.desc = d.value;
            }
        }
        if let Some(t) = r.tags {
            if !append("tags") {
                def.tags.clear();
            }
            def.tags.extend(t);
        }
        if let Some((p, _)) = r.priority {
            def.priority = p;
        }
        if let Some(e) = r.enabled {
            def.enabled = e;
        }
        if let Some(v) = r.warn_evttypes {
            def.warn_evttypes = v;
        }
        if let Some(v) = r.capture {
            def.capture = v;
        }
        if let Some(v) = r.capture_duration {
            def.capture_duration = Some(v);
        }
        if let Some(v) = r.skip_if_unknown_filter {
            def.skip_if_unknown_filter = v;
        }
        if let Some(excs) = excs {
            if append("exceptions") {
                self.append_exceptions(i, excs)?;
            } else {
                self.out.rules[i].exceptions = excs;
            }
        }
        Ok(())
    }
}
