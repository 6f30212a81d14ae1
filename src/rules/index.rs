//! Phase 4 (Falco's `evttype_index_ruleset`): for each event code, the candidate rules.
//!
//! Owns the code → rules table. A rule is a candidate for an event code when the
//! `evt.type` name of that code is in the rule's event-type set; rules with no `evt.type`
//! restriction are kept apart and run after the type-specific ones, as in Falco.

use super::compiler::CompiledRule;

/// Candidate rules per event code, in load order.
#[derive(Debug, Clone, Default)]
pub struct EventIndex {
    by_code: Vec<Box<[u32]>>,
    catch_all: Box<[u32]>,
}

impl EventIndex {
    /// Indexes the rules selected by `active` (same length as `rules`). `type_of(code)` is
    /// the `evt.type` value of events with that code, for codes `0..ncodes`.
    pub fn build(
        rules: &[CompiledRule],
        active: &[bool],
        ncodes: u16,
        type_of: &dyn Fn(u16) -> Option<String>,
    ) -> Self {
        let names: Vec<Option<String>> = (0..ncodes).map(type_of).collect();
        let mut by_code: Vec<Vec<u32>> = vec![Vec::new(); ncodes as usize];
        let mut catch_all = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if !active.get(i).copied().unwrap_or(false) {
                continue;
            }
            match &r.evttypes {
                None => catch_all.push(i as u32),
                Some(set) => {
                    for (code, name) in names.iter().enumerate() {
                        if name.as_ref().is_some_and(|n| set.contains(n)) {
                            by_code[code].push(i as u32);
                        }
                    }
                }
            }
        }
        EventIndex {
            by_code: by_code.into_iter().map(Vec::into_boxed_slice).collect(),
            catch_all: catch_all.into_boxed_slice(),
        }
    }

    /// Rules indexed under `code` (type-specific), in load order.
    #[inline]
    pub fn typed(&self, code: u16) -> &[u32] {
        self.by_code.get(code as usize).map_or(&[], |v| &v[..])
    }

    /// Rules with no event-type restriction, in load order.
    #[inline]
    pub fn catch_all(&self) -> &[u32] {
        &self.catch_all
    }

    /// Codes with at least one type-specific candidate.
    pub fn codes(&self) -> impl Iterator<Item = u16> + '_ {
        self.by_code
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, _)| c as u16)
    }
}
