//! `read`'s options, as the benches build them.

use saker::filter::fields::{Fields, OutTime};
use saker::output::{ReadOptions, Template};

/// Options that print `fmt` (JSON lines with `json`) for the events
/// `filter` selects (all without one); nothing else set.
pub fn opts(filter: Option<&str>, fmt: &str, json: bool) -> ReadOptions {
    let filter = filter.map(|f| {
        let ast = saker::filter::parse(f).unwrap();
        let c = saker::filter::compile(&ast, &Fields).unwrap();
        (ast, c)
    });
    ReadOptions {
        filter,
        template: Template::parse(fmt, &Fields).unwrap(),
        json,
        limit: None,
        from: None,
        to: None,
        out_time: OutTime::Human,
        arg_opts: Default::default(),
    }
}
