//! `--from` / `--to` time specs: absolute (RFC 3339, or `HH:MM:SS[.frac]` on
//! the capture's first day, UTC) or relative (`+5s` from the first event,
//! `-2m` from the last). Pure parsing; resolved to CLOCK_BOOTTIME ns.

use super::OutputError;

/// The capture's time frame, for resolving specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// First event timestamp (boottime ns).
    pub first_ts: u64,
    /// Last event timestamp (boottime ns).
    pub last_ts: u64,
    /// Add to a boottime timestamp for ns since the epoch.
    pub epoch_off: i64,
}

fn bad(text: &str, message: &str) -> OutputError {
    let mut shown = String::new();
    crate::event::text::escape_bytes(text.as_bytes(), &mut shown);
    OutputError::Time {
        text: shown,
        message: message.into(),
    }
}

/// Parses a duration like `5s`, `1.5m`, `250ms`, `2h`, `100us`, `10ns`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let mult: f64 = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let ns = v * mult;
    (ns.is_finite() && ns >= 0.0 && ns < 1e19).then_some(ns as u64)
}

/// Resolves `spec` to a boottime timestamp within `frame`.
pub fn resolve(spec: &str, frame: &Frame) -> Result<u64, OutputError> {
    let s = spec.trim();
    let to_boot = |epoch: i128| -> Result<u64, OutputError> {
        let b = epoch - i128::from(frame.epoch_off);
        u64::try_from(b.max(0)).map_err(|_| bad(spec, "time out of range"))
    };
    if let Some(rest) = s.strip_prefix('+') {
        let d = parse_duration(rest).ok_or_else(|| bad(spec, "expected a duration like +5s"))?;
        return Ok(frame.first_ts.saturating_add(d));
    }
    if let Some(rest) = s.strip_prefix('-') {
        let d = parse_duration(rest).ok_or_else(|| bad(spec, "expected a duration like -2m"))?;
        return Ok(frame.last_ts.saturating_sub(d));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        let ns = t
            .timestamp_nanos_opt()
            .ok_or_else(|| bad(spec, "time out of range"))?;
        return to_boot(i128::from(ns));
    }
    if let Ok(t) = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f") {
        let first_epoch = (frame.first_ts as i64).saturating_add(frame.epoch_off);
        let day = first_epoch.div_euclid(86_400_000_000_000) * 86_400_000_000_000;
        use chrono::Timelike;
        let tod = i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
            + i64::from(t.nanosecond().min(999_999_999));
        return to_boot(i128::from(day) + i128::from(tod));
    }
    Err(bad(
        spec,
        "expected RFC 3339 (2024-05-01T10:00:00Z), HH:MM:SS[.frac], +DURATION or -DURATION",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Frame = Frame {
        first_ts: 1_000_000_000_000,
        last_ts: 1_060_000_000_000,
        // first event at 2024-05-01T10:00:00Z
        epoch_off: 1_714_557_600_000_000_000 - 1_000_000_000_000,
    };

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(5_000_000_000));
        assert_eq!(parse_duration("1.5m"), Some(90_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("1e30h"), None);
    }

    #[test]
    fn specs() {
        assert_eq!(resolve("+5s", &F).unwrap(), F.first_ts + 5_000_000_000);
        assert_eq!(resolve("-2m", &F).unwrap(), F.last_ts - 120_000_000_000);
        assert_eq!(
            resolve("2024-05-01T10:00:30Z", &F).unwrap(),
            F.first_ts + 30_000_000_000
        );
        assert_eq!(
            resolve("10:00:30.5", &F).unwrap(),
            F.first_ts + 30_500_000_000
        );
        assert_eq!(
            resolve("09:00:00", &F).unwrap(),
            F.first_ts - 3_600_000_000_000
        );
        let e = resolve("yesterday\x1b", &F).unwrap_err().to_string();
        assert!(e.contains("yesterday\\x1b"), "{e}");
        assert!(resolve("+", &F).is_err());
    }
}
