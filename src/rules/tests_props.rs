//! Property tests (the stable twin of the `rules_loader` fuzz target): rules files built
//! from a grammar of items, and byte-level mutations of them, load or fail with a
//! positioned error; they never panic.

use super::*;
use crate::filter::fields::Fields;
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("cat".to_string()),
        Just("proc.name".to_string()),
        Just("evt.type".to_string()),
        Just("m1".to_string()),
        Just("l1".to_string()),
        Just("open".to_string()),
        "[a-z_]{1,6}",
    ]
}

fn cond() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        (
            word(),
            prop_oneof![Just("="), Just(" in "), Just(" contains "), Just("!=")],
            word()
        )
            .prop_map(|(a, o, b)| if o == " in " {
                format!("{a} in ({b}, l1)")
            } else {
                format!("{a}{o}{b}")
            }),
        word(),
    ];
    atom.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        (word(), proptest::collection::vec(word(), 0..4)).prop_map(|(n, v)| format!("- list: {n}\n  items: [{}]\n", v.join(", "))),
        (word(), cond(), any::<bool>()).prop_map(|(n, c, a)| format!("- macro: {n}\n  condition: {c}\n{}", if a { "  append: true\n" } else { "" })),
        (word(), cond(), 0u8..4).prop_map(|(n, c, k)| match k {
            0 => format!("- rule: {n}\n  desc: d\n  condition: {c}\n  output: o %proc.name\n  priority: INFO\n"),
            1 => format!("- rule: {n}\n  condition: and {c}\n  override:\n    condition: append\n"),
            2 => format!("- rule: {n}\n  enabled: false\n"),
            _ => format!("- rule: {n}\n  desc: d\n  condition: {c}\n  output: o\n  priority: WARNING\n  exceptions:\n    - name: e\n      fields: [proc.name, evt.type]\n      values: [[{n}, open]]\n"),
        }),
        Just("- required_engine_version: 0.50.0\n".to_string()),
    ]
}

fn check(text: &str) {
    match load(
        &[("p.yaml", text)],
        &Fields,
        crate::event::table::Syscalls::default_x86_64(),
        &CompileOptions::default(),
    ) {
        Ok(l) => assert!(l.ruleset.rules.len() <= l.collected.rules.len()),
        Err(e) => {
            let loc = e.loc().expect("load errors have a position");
            assert!(loc.line >= 1 && loc.col >= 1, "{e}");
            assert!(!e.to_string().contains('\u{1b}'));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_files_never_panic(items in proptest::collection::vec(item(), 0..8)) {
        check(&items.concat());
    }

    #[test]
    fn mutated_files_never_panic(items in proptest::collection::vec(item(), 1..6), muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut b = items.concat().into_bytes();
        for (i, v) in muts {
            let at = i.index(b.len());
            b[at] = v;
        }
        check(&String::from_utf8_lossy(&b));
    }
}
