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
    let scenarios =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/scenarios"))
            .unwrap()
            .count();
    assert_eq!(scenarios, 20);
    // Each scenario under saker's rules and Falco's stable rules, plus the specs that load
    // incubating or sandbox on top of stable where the matching Falco rule lives there.
    let extra = specs
        .iter()
        .filter(|s| s.contains("/falco-incubating-") || s.contains("/falco-sandbox-"))
        .count();
    assert_eq!(extra, 5);
    assert_eq!(specs.len(), 2 * scenarios + extra);
    let mut args = vec!["test"];
    args.extend(specs.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let summary = format!("{} passed, 0 failed", specs.len());
    assert!(stdout(&o).contains(&summary) || stderr(&o).contains(&summary));
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
    // An attack spec that expects nothing says why (which Falco rule, and why it cannot match).
    for s in specs.iter().filter(|s| !s.contains("benign")) {
        let text = std::fs::read_to_string(s).unwrap();
        if text.contains("counts: {}") {
            assert!(
                text.starts_with("# Expects nothing: "),
                "{s}: no explanation"
            );
        }
    }
    // The incubating/sandbox specs do alert.
    for s in specs
        .iter()
        .filter(|s| s.contains("/falco-incubating-") || s.contains("/falco-sandbox-"))
    {
        let text = std::fs::read_to_string(s).unwrap();
        assert!(text.contains("\": "), "{s} expects at least one alert");
    }
}
