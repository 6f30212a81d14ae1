//! Property tests (random input never panics, printed trees re-parse), on the
//! mock registry and event of `tests.rs`. Evaluation speed is measured by
//! `cargo bench --bench read`, not by a timed test.

mod never_panic {
    use super::super::tests::{open_ev, Ev, Reg};
    use super::super::*;
    use proptest::prelude::*;

    /// Runs every entry point on `src`; errors must carry valid positions and render.
    pub(crate) fn exercise(src: &str) {
        match parse(src) {
            Ok(ast) => {
                let text = ast.to_string();
                let again =
                    parse(&text).unwrap_or_else(|e| panic!("reprint of {src:?} = {text:?}: {e}"));
                assert_eq!(
                    again.without_spans(),
                    ast.without_spans(),
                    "{src:?} -> {text:?}"
                );
                match compile(&ast, &Reg) {
                    Ok(f) => {
                        f.matches(&mut open_ev(), &mut Scratch::default());
                        f.matches(&mut Ev::default(), &mut Scratch::default());
                    }
                    Err(e) => {
                        assert!(e.pos <= src.len());
                        let _ = e.render(src);
                    }
                }
                let _ = event_types(&ast, &["open".to_string()].into_iter().collect());
            }
            Err(e) => {
                assert!(e.pos <= src.len() && e.line >= 1, "{e:?}");
                let _ = e.render(src);
            }
        }
        let (_, errs) = parse_lenient(src);
        for e in errs {
            assert!(e.pos <= src.len(), "{e:?}");
            let _ = e.render(src);
        }
    }

    fn soup() -> impl Strategy<Value = String> {
        let piece = proptest::sample::select(vec![
            "(",
            ")",
            " ",
            "and",
            "or",
            "not",
            "not(",
            "evt.type",
            "fd.name",
            "fd.num",
            "proc.aname[1]",
            "fd.ip",
            "=",
            "!=",
            "<",
            ">=",
            "in",
            "pmatch",
            "contains ",
            "regex ",
            "exists",
            "(a, 'b')",
            "\"x\\\"y\"",
            "'",
            "\"",
            "\\",
            "tolower(",
            "len(",
            "val(",
            "0x1f",
            "-3",
            "1.5e+3",
            ",",
            "[",
            "]",
            "x",
            "é",
            "\t",
            "10.0.0.0/8",
            "bcontains ",
            "4142",
            "glob ",
            "*",
        ]);
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        #[test]
        fn random_strings_never_panic(s in "\\PC{0,40}|[ -~]{0,60}") {
            exercise(&s);
        }

        #[test]
        fn token_soup_never_panics(s in soup()) {
            exercise(&s);
        }
    }
}

/// The event-type resolver is a sound superset: any event a random filter matches has its
/// type in the resolved set.
mod evttype_soundness {
    use super::super::tests::{open_ev, Reg};
    use super::super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const TYPES: [&str; 4] = ["open", "openat", "read", "execve"];

    fn atom() -> impl Strategy<Value = String> {
        let ty = proptest::sample::select(TYPES.to_vec());
        prop_oneof![
            ty.clone().prop_map(|t| format!("evt.type={t}")),
            ty.clone().prop_map(|t| format!("evt.type!={t}")),
            (ty.clone(), ty).prop_map(|(a, b)| format!("evt.type in ({a}, {b}, bogus)")),
            proptest::sample::select(vec!["cat", "sh"]).prop_map(|n| format!("proc.name={n}")),
            (0i64..4).prop_map(|n| format!("fd.num>{n}")),
            Just("evt.type contains open".to_string()),
        ]
    }

    fn filter() -> impl Strategy<Value = String> {
        atom().prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| format!("not ({f})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
                (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) or ({b})")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn matched_types_are_in_the_resolved_set(
            f in filter(),
            name in proptest::sample::select(vec!["cat", "sh", "ls"]),
            fdnum in 0i64..5,
        ) {
            let universe: BTreeSet<String> = TYPES.iter().map(|s| s.to_string()).collect();
            let ast = parse(&f).map_err(|e| TestCaseError::fail(e.render(&f)))?;
            let set = event_types(&ast, &universe);
            // What `read`'s code mask asks, without a universe: the same answer.
            let types = crate::filter::evttypes::resolve_types(&ast);
            for ty in TYPES {
                prop_assert_eq!(types.contains(ty), set.as_ref().is_none_or(|s| s.contains(ty)));
            }
            let compiled = compile(&ast, &Reg).map_err(|e| TestCaseError::fail(e.render(&f)))?;
            for ty in TYPES {
                let mut ev = open_ev();
                ev.ty = ty;
                ev.name = Some(name);
                ev.fdnum = Some(fdnum);
                if compiled.matches(&mut ev, &mut Scratch::default()) {
                    prop_assert!(
                        set.as_ref().is_none_or(|s| s.contains(ty)),
                        "{f:?} matched {ty} (name {name}, fd {fdnum}) but resolved to {set:?}"
                    );
                }
            }
        }
    }
}
