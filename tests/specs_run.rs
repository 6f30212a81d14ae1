//! The committed detection specs (tests/specs/): every attack scenario
//! alerts under saker's default rules and, where Falco has a matching rule,
//! under Falco's stable rules; the benign scenarios raise nothing.

use std::path::Path;

use crate::util::{run, stderr, stdout};

#[test]
fn every_scenario_spec_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs");
    let mut specs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    specs.sort();
    assert_eq!(specs.len(), 28, "14 scenarios x (saker, falco)");
    let mut args = vec!["test"];
    args.extend(specs.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("28 passed, 0 failed") || stderr(&o).contains("28 passed, 0 failed")
    );
    // Attacks alert under our rules: no attack spec expects nothing.
    for s in specs
        .iter()
        .filter(|s| s.contains("/saker-") && !s.contains("benign"))
    {
        let text = std::fs::read_to_string(s).unwrap();
        assert!(text.contains("\": "), "{s} expects at least one alert");
    }
    for s in specs.iter().filter(|s| s.contains("benign")) {
        let text = std::fs::read_to_string(s).unwrap();
        assert!(!text.contains("\": "), "{s} must expect no alert");
    }
}
