//! The [`Machine`] description: `uname`, online CPUs, `/proc/meminfo`, and
//! the CLOCK_BOOTTIME -> epoch offset that turns event timestamps into wall
//! clock time.

use std::ffi::CStr;
use std::io;
use std::path::Path;

use super::{read_text, ProcfsError};
use crate::event::meta::Machine;

/// Clock pairs sampled to find the boottime -> epoch offset.
const CLOCK_SAMPLES: usize = 8;

/// Describes this machine (reads `/proc/meminfo`).
pub fn machine_info() -> Result<Machine, ProcfsError> {
    machine_info_at(Path::new("/proc"))
}

/// [`machine_info`] with procfs mounted at `proc_root`.
pub fn machine_info_at(proc_root: &Path) -> Result<Machine, ProcfsError> {
    let un = uname()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if cpus < 1 {
        return Err(ProcfsError::Sys {
            call: "sysconf(_SC_NPROCESSORS_ONLN)",
            source: io::Error::last_os_error(),
        });
    }
    let meminfo_path = proc_root.join("meminfo");
    let meminfo = read_text(&meminfo_path, 64 * 1024)?;
    let memory_bytes = parse_meminfo_total(&meminfo).map_err(|e| e.in_file(&meminfo_path))?;
    let mut samples = [(0i64, 0i64, 0i64); CLOCK_SAMPLES];
    for s in &mut samples {
        let r1 = clock_ns(libc::CLOCK_REALTIME, "clock_gettime(CLOCK_REALTIME)")?;
        let b = clock_ns(libc::CLOCK_BOOTTIME, "clock_gettime(CLOCK_BOOTTIME)")?;
        let r2 = clock_ns(libc::CLOCK_REALTIME, "clock_gettime(CLOCK_REALTIME)")?;
        *s = (r1 as i64, b as i64, r2 as i64);
    }
    let offset = boottime_offset(&samples).unwrap_or(0);
    Ok(Machine {
        hostname: un[0].clone(),
        kernel_release: un[1].clone(),
        kernel_version: un[2].clone(),
        arch: un[3].clone(),
        num_cpus: u32::try_from(cpus).unwrap_or(u32::MAX),
        memory_bytes,
        boot_time_ns: u64::try_from(offset).unwrap_or(0),
        boottime_to_epoch_ns: offset,
    })
}

/// `[nodename, release, version, machine]` from `uname(2)`.
fn uname() -> Result<[String; 4], ProcfsError> {
    // SAFETY: utsname is plain data; all-zero is a valid value.
    let mut un: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `un` is a valid, writable utsname.
    if unsafe { libc::uname(&mut un) } != 0 {
        return Err(ProcfsError::Sys {
            call: "uname",
            source: io::Error::last_os_error(),
        });
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().map(|&c| c as u8).collect();
        match CStr::from_bytes_until_nul(&bytes) {
            Ok(c) => c.to_string_lossy().into_owned(),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        }
    };
    Ok([
        field(&un.nodename),
        field(&un.release),
        field(&un.version),
        field(&un.machine),
    ])
}

/// Reads a clock in ns.
pub(crate) fn clock_ns(clock: libc::clockid_t, call: &'static str) -> Result<u64, ProcfsError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(ProcfsError::Sys {
            call,
            source: io::Error::last_os_error(),
        });
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64))
}

/// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/PID/stat` times.
pub(crate) fn clock_ticks_per_sec() -> Result<u64, ProcfsError> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz < 1 {
        return Err(ProcfsError::Sys {
            call: "sysconf(_SC_CLK_TCK)",
            source: io::Error::last_os_error(),
        });
    }
    Ok(hz as u64)
}

/// The epoch - boottime offset from `(realtime_before, boottime,
/// realtime_after)` samples: the sample with the smallest realtime gap wins,
/// and its boottime is taken to be at the middle of the gap. `None` when no
/// sample is ordered (realtime went backwards in all of them).
pub fn boottime_offset(samples: &[(i64, i64, i64)]) -> Option<i64> {
    samples
        .iter()
        .filter(|(r1, _, r2)| r2 >= r1)
        .min_by_key(|(r1, _, r2)| r2 - r1)
        .map(|&(r1, b, r2)| r1 + (r2 - r1) / 2 - b)
}

/// `MemTotal` of `/proc/meminfo` in bytes (0 when the line is missing).
pub fn parse_meminfo_total(text: &str) -> Result<u64, ProcfsError> {
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("MemTotal:") else {
            continue;
        };
        let mut it = rest.split_whitespace();
        let num = it.next().unwrap_or("");
        let kb: u64 = num.parse().map_err(|_| {
            let col = line.find(num).map_or(1, |c| c + 1);
            ProcfsError::parse(i + 1, col, format!("bad MemTotal value {num:?}"))
        })?;
        let mult = match it.next() {
            Some("kB") => 1024,
            None => 1,
            Some(unit) => {
                return Err(ProcfsError::parse(
                    i + 1,
                    1,
                    format!("unknown MemTotal unit {unit:?}"),
                ))
            }
        };
        return Ok(kb.saturating_mul(mult));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_total() {
        let text = "MemTotal:        4025596 kB\nMemFree:         3286888 kB\n";
        assert_eq!(parse_meminfo_total(text).unwrap(), 4025596 * 1024);
        assert_eq!(parse_meminfo_total("MemFree: 1 kB\n").unwrap(), 0);
        let e = parse_meminfo_total("X: 1\nMemTotal: lots kB\n").unwrap_err();
        assert!(
            e.to_string().contains(":2:11: bad MemTotal value \"lots\""),
            "{e}"
        );
        assert!(parse_meminfo_total("MemTotal: 1 MB").is_err());
    }

    #[test]
    fn offset_takes_tightest_pair() {
        // Sample 1 is loose (gap 1000); sample 2 is tight (gap 10).
        let s = [(10_000, 100, 11_000), (20_000, 1_000, 20_010), (5, 0, 1)];
        assert_eq!(boottime_offset(&s), Some(20_005 - 1_000));
        assert_eq!(boottime_offset(&[(5, 0, 1)]), None);
        assert_eq!(boottime_offset(&[]), None);
    }

    #[test]
    fn live_machine_info() {
        let m = machine_info().unwrap();
        assert!(!m.kernel_release.is_empty());
        assert_eq!(m.arch, std::env::consts::ARCH);
        assert!(m.num_cpus >= 1);
        assert!(m.memory_bytes > 1 << 20);
        // Epoch = boottime + offset must match the wall clock to within 1 s.
        let boot = clock_ns(libc::CLOCK_BOOTTIME, "b").unwrap() as i64;
        let real = clock_ns(libc::CLOCK_REALTIME, "r").unwrap() as i64;
        assert!((boot + m.boottime_to_epoch_ns - real).abs() < 1_000_000_000);
        assert_eq!(m.boot_time_ns as i64, m.boottime_to_epoch_ns);
        // Booted after 2001 and before now.
        assert!(m.boot_time_ns > 1_000_000_000 * 1_000_000_000 && (m.boot_time_ns as i64) < real);
    }
}
