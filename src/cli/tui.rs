//! `saker tui`: opens a capture in the interactive timeline, or with
//! `--export-notes` writes its markdown incident timeline; and
//! `saker record --tui`: the same app fed live by the recorder.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::args::TuiArgs;
use saker::capture::CaptureMeta;
use saker::recorder::{self, RecordHooks, RecordOptions, RecordReport};
use saker::tui::{self, notes, AppEvent, Session, Source};

/// Loads the rules (`-R` files, else the default ruleset) and the `-p`
/// columns into a session.
fn configure(s: &mut Session, rules: &[PathBuf], format: Option<&str>) -> Result<()> {
    let warnings = if rules.is_empty() {
        s.set_default_rules().context("loading the default rules")?
    } else {
        let texts = super::rules::read_files(rules)?;
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        s.set_rules(&files).context("loading rules")?
    };
    if !rules.is_empty() {
        for w in warnings {
            eprintln!("{w}");
        }
    }
    if let Some(f) = format {
        s.src.set_format(f).context("-p")?;
    }
    Ok(())
}

/// Runs `saker tui`.
pub fn run(a: &TuiArgs) -> Result<i32> {
    let src = Source::open(&a.file, tui::CACHE_BLOCKS)
        .with_context(|| format!("opening {}", a.file.display()))?;
    let mut s = Session::new(src);
    s.app.notes = notes::load(&a.file)?;
    configure(&mut s, &a.rules, a.format.as_deref())?;
    if let Some(out) = &a.export_notes {
        s.index_now()?;
        let marks = s.app.notes.clone();
        let md = tui::export::markdown(&mut s, &a.file.display().to_string(), &marks)?;
        write_out(out, &md)?;
        return Ok(0);
    }
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdout().is_terminal(),
        "saker tui needs a terminal (use --export-notes for a report)"
    );
    tui::term::run(s, Some(a.file.clone()))?;
    Ok(0)
}

/// Hands the first file's metadata to the TUI, then each batch the
/// recorder is about to write into the app channel.
struct LiveHooks {
    meta: mpsc::SyncSender<CaptureMeta>,
    tx: Sender<AppEvent>,
}

impl RecordHooks for LiveHooks {
    fn on_start(&mut self, meta: &CaptureMeta) {
        let _ = self.meta.try_send(meta.clone());
    }

    fn on_records(&mut self, batch: &[u8]) {
        let _ = self.tx.send(AppEvent::Live(batch.to_vec()));
    }
}

/// Longest wait for the recorder's start (probes attached, snapshot taken).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `saker record --tui`: the recorder in a thread (writing its file
/// as usual), the TUI in this one, fed by the recorder's batches. Quitting
/// the TUI stops the recording (SIGTERM to ourselves, which the recorder
/// handles like Ctrl-C); the report is returned once the file is closed.
pub fn run_live(opts: RecordOptions, rules: &[PathBuf]) -> Result<RecordReport> {
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdout().is_terminal(),
        "saker record --tui needs a terminal"
    );
    let path = opts.output.clone();
    let (tx, rx) = mpsc::channel();
    let (meta_tx, meta_rx) = mpsc::sync_channel(1);
    let mut hooks = LiveHooks {
        meta: meta_tx,
        tx: tx.clone(),
    };
    let end_tx = tx.clone();
    let rec = std::thread::spawn(move || {
        let r = recorder::record(&opts, &mut hooks);
        let why = match &r {
            Ok(rep) => format!(
                "recording stopped ({}): {} events, {} dropped",
                rep.stop_reason, rep.events, rep.drops
            ),
            Err(e) => format!("recording failed: {e}"),
        };
        let _ = end_tx.send(AppEvent::LiveEnded(why));
        r
    });
    // The recorder hands over the first file's metadata (`on_start`) once
    // the file exists, before any records.
    let meta = match meta_rx.recv_timeout(START_TIMEOUT) {
        Ok(meta) => meta,
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return match rec.join() {
                Ok(Ok(_)) => bail!("the recording ended before it started"),
                Ok(Err(e)) => Err(e).context("recording failed"),
                Err(_) => bail!("the recorder thread panicked"),
            };
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGTERM);
            bail!(
                "the recording of {} did not start within {START_TIMEOUT:?}",
                path.display()
            );
        }
    };
    let mut s = Session::live(&meta, tui::CACHE_BLOCKS)?;
    s.app.notes = notes::load(&path)?;
    configure(&mut s, rules, None)?;
    let ui = tui::term::run_with(s, Some(path), tx, rx);
    if !rec.is_finished() {
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGTERM);
    }
    let report = match rec.join() {
        Ok(r) => r.context("recording failed")?,
        Err(_) => bail!("the recorder thread panicked"),
    };
    ui?;
    Ok(report)
}

fn write_out(out: &Path, md: &str) -> Result<()> {
    if out == Path::new("-") {
        use std::io::Write;
        std::io::stdout().lock().write_all(md.as_bytes())?;
        return Ok(());
    }
    std::fs::write(out, md).with_context(|| format!("writing {}", out.display()))
}
