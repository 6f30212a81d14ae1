//! Fuzzes the filter language front to back: parse, lenient parse, print/re-parse,
//! compile against a permissive registry, evaluate, and render every error.
//! Stable twin: `filter::tests::never_panic` (proptest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use saker::filter::{
    compile, event_types, parse, parse_lenient, FieldArg, FieldInfo, FieldRegistry, FieldSource,
    FieldType, FilterError, Scratch, Span, ValueBuf,
};

/// Accepts every field; the type comes from the name so every compile path is reached.
struct AnyField;

impl FieldRegistry for AnyField {
    fn resolve(&self, name: &str, arg: Option<&FieldArg>, _span: Span) -> Result<FieldInfo, FilterError> {
        let ty = match name.len() % 6 {
            0 => FieldType::U64,
            1 => FieldType::I64,
            2 => FieldType::Bool,
            3 => FieldType::Ip,
            4 => FieldType::Bytes,
            _ => FieldType::Str,
        };
        let mut f = FieldInfo::new(name.len() as u32, ty);
        f.arg = arg.cloned();
        f.list = name.ends_with('s');
        Ok(f)
    }
}

/// Gives every field a fixed value of its type (none for odd ids).
struct Event;

impl FieldSource for Event {
    fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        if f.id % 2 == 1 {
            return false;
        }
        match f.ty {
            FieldType::U64 => out.push_u64(7),
            FieldType::I64 => out.push_i64(-7),
            FieldType::Bool => out.push_bool(true),
            FieldType::Ip => out.push_ip([10, 0, 0, 1].into()),
            _ => {
                out.push_str("/etc/passwd");
                out.push_str("QUJD");
            }
        }
        true
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse(src) {
        Ok(ast) => {
            let text = ast.to_string();
            let again = parse(&text).expect("printed filter must parse");
            assert_eq!(again.without_spans(), ast.without_spans());
            if let Ok(f) = compile(&ast, &AnyField) {
                f.matches(&mut Event, &mut Scratch::default());
            }
            let _ = event_types(&ast, &["open".to_string()].into_iter().collect());
        }
        Err(e) => {
            assert!(e.pos <= src.len());
            let _ = e.render(src);
        }
    }
    for e in parse_lenient(src).1 {
        assert!(e.pos <= src.len());
        let _ = e.render(src);
    }
});
