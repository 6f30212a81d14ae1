//! `saker read`: print a capture's events, sysdig style, through the
//! library's read pipeline (`saker::output`).

use std::io::Write as _;

use anyhow::{Context, Result};

use super::args::{ReadArgs, TimeFmt};
use saker::event::display::{ArgOpts, BufFmt};
use saker::filter::fields::{Fields, OutTime};
use saker::output::{self, ReadOptions, Template, DEFAULT_FORMAT};

/// Bytes of each buffer shown without `-v` (as sysdig).
const SHORT_BUF: usize = 40;

/// Runs `saker read`. Bad filters and formats print a caret diagnostic and exit 2.
pub fn run(a: &ReadArgs) -> Result<i32> {
    let text = a.filter.join(" ");
    let filter = if text.trim().is_empty() {
        None
    } else {
        let compiled = saker::filter::parse(&text).and_then(|ast| {
            let f = saker::filter::compile(&ast, &Fields).map_err(|e| e.locate(&text))?;
            Ok((ast, f))
        });
        match compiled {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("saker: bad filter\n{}", e.render(&text));
                return Ok(2);
            }
        }
    };
    let fmt = a.format.as_deref().unwrap_or(DEFAULT_FORMAT);
    let template = match Template::parse(fmt, &Fields) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("saker: bad format\n{}", e.render(fmt));
            return Ok(2);
        }
    };
    let buf = if a.ascii {
        BufFmt::Ascii
    } else if a.hex {
        BufFmt::Hex
    } else if a.hex_ascii {
        BufFmt::HexAscii
    } else if a.base64 {
        BufFmt::Base64
    } else {
        BufFmt::Escaped
    };
    let opts = ReadOptions {
        filter,
        template,
        json: a.json,
        limit: a.numevents,
        from: a.from.clone(),
        to: a.to.clone(),
        out_time: match a.timetype {
            TimeFmt::H => OutTime::Human,
            TimeFmt::A => OutTime::Absolute,
            TimeFmt::R => OutTime::Relative,
            TimeFmt::LatencyD => OutTime::Latency,
            TimeFmt::DeltaD => OutTime::Delta,
        },
        arg_opts: ArgOpts {
            buf,
            max_buf: (!a.verbose).then_some(SHORT_BUF),
        },
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let scap =
        saker::source::is_scap(&a.read).with_context(|| format!("opening {}", a.read.display()))?;
    let res = if scap && !output::needs_frame(&opts) {
        // A `.scap` file is printed as it is imported: no capture is built.
        let bare = output::scap_bare(&opts);
        let import = saker::scap::ImportOptions {
            bare,
            ..saker::scap::ImportOptions::default()
        };
        let (res, origin) = saker::source::stream_scap(&a.read, import, |meta, recs| {
            output::run_scap(meta, recs, &opts, bare, &mut out)
        })
        .with_context(|| format!("opening {}", a.read.display()))?;
        if let Some(inc) = origin.incomplete() {
            super::warn_incomplete(&a.read, &inc, "read");
        }
        res
    } else {
        let opened = super::open_capture(&a.read, false, "reading")?;
        output::run(&opened.reader, &opts, &mut out)
    };
    match res {
        Ok(_) => {}
        Err(output::OutputError::Time { text, message }) => {
            eprintln!("saker: bad time '{text}': {message}");
            return Ok(2);
        }
        Err(e) => return Err(e).context("reading events"),
    }
    out.flush()?;
    Ok(0)
}
