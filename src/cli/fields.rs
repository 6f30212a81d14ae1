//! `saker fields`: every filter/output field with its type and description,
//! grouped by class like `sysdig -l`.

use anyhow::Result;

use super::args::FieldsArgs;
use saker::filter::fields::{ArgRule, Avail, CATALOG};

/// Runs `saker fields`.
pub fn run(a: &FieldsArgs) -> Result<i32> {
    if a.json {
        let v: Vec<_> = CATALOG
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.name,
                    "class": d.class().name(),
                    "type": d.ty.name(),
                    "arg": match d.arg {
                        ArgRule::None => "none",
                        ArgRule::OptIndex => "optional index",
                        ArgRule::IndexOrName => "index or name",
                        ArgRule::Text => "text",
                    },
                    "available": d.avail == Avail::Yes,
                    "unavailable_reason": match d.avail { Avail::Never(r) => Some(r), Avail::Yes => None },
                    "desc": d.desc,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let mut class = None;
    for d in CATALOG {
        if class != Some(d.class()) {
            class = Some(d.class());
            println!(
                "\n----------------------\nField Class: {}\n",
                d.class().name()
            );
        }
        let name = match d.arg {
            ArgRule::None => d.name.to_string(),
            ArgRule::OptIndex => format!("{}[N]", d.name),
            ArgRule::IndexOrName => format!("{}[N|NAME]", d.name),
            ArgRule::Text => format!("{}[TEXT]", d.name),
        };
        let note = match d.avail {
            Avail::Yes => String::new(),
            Avail::Never(why) => format!(" (never set in saker captures: {why})"),
        };
        println!("{name:<40} {:<9} {}{note}", d.ty.name(), d.desc);
    }
    Ok(0)
}
