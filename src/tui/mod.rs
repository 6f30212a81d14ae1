//! `saker tui`: an incident-investigation timeline over one capture.
//!
//! Shape (ratatui demo2 / templates / bottom): keys and mouse map to
//! [`Action`]s ([`action`]); [`App::update`] is the only place state changes
//! and is pure (tested without a terminal); work needing the capture comes
//! back as [`Command`]s; [`prepare`] loads the blocks on screen through the
//! LRU [`BlockCache`] and derives the side panes; [`ui::View`] only reads.
//! One `mpsc` channel carries every [`AppEvent`]: input, the indexer
//! (checkpoints, exact histogram, exec history), filter scans and — for a
//! `saker record --tui` — live batches ([`live`]). [`term::TerminalGuard`]
//! restores the terminal on exit, panic and SIGTERM.
//!
//! Nothing in capture/event/filter/rules/state imports this module.

pub mod action;
pub mod app;
pub mod cache;
pub mod export;
pub mod jobs;
pub mod live;
pub mod notes;
pub mod prepare;
pub mod source;
pub mod term;
pub mod timeline;
pub mod ui;

use std::sync::mpsc::Sender;
use std::sync::Arc;

pub use action::{Action, Focus, Prompt, Side};
pub use app::{App, Command, ListModel};
pub use cache::BlockCache;
pub use jobs::{AppEvent, Indexed, ScanRequest};
pub use source::Source;

use crate::capture::CaptureError;
use crate::rules::Engine;
use crate::state::StateError;

/// Errors of the TUI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuiError {
    /// The capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The file could not be opened (neither ours nor a readable `.scap`).
    #[error("{message}")]
    Open {
        /// What is wrong, with the path.
        message: String,
    },
    /// State reconstruction failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A column or details template failed to compile (a bug).
    #[error("template '{format}': {message}")]
    Template {
        /// The format string.
        format: String,
        /// What is wrong.
        message: String,
    },
    /// The notes sidecar is unusable.
    #[error("notes file {what}: {message}")]
    Notes {
        /// Where.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// The rules files do not load.
    #[error("rules: {message}")]
    Rules {
        /// The loader's error.
        message: String,
    },
    /// A background job failed.
    #[error("{job}: {message}")]
    Job {
        /// Which job.
        job: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Terminal or file I/O failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Blocks kept rendered in the cache.
pub const CACHE_BLOCKS: usize = 16;

/// An opened capture with its app state: what the runner, the tests and
/// the benchmark drive.
pub struct Session {
    /// The state.
    pub app: App,
    /// The capture.
    pub src: Source,
    /// Rules run by the indexer (alerts pane).
    pub rules: Option<Arc<Engine>>,
    /// The live feed, for a recording in progress (`saker record --tui`).
    pub live: Option<live::LiveFeed>,
}

impl Session {
    /// Builds the app for `src`: index-only histogram and drop gaps, no
    /// decompression.
    pub fn new(src: Source) -> Session {
        let cap = src.capture();
        let t = cap.totals();
        let (first, last) = (t.first_ts.unwrap_or(0), t.last_ts.unwrap_or(0));
        let hist = timeline::from_blocks(cap.blocks(), src.category_counts(), 1024);
        let gaps = timeline::drop_gaps(cap.blocks());
        let mut app = App::new(src.total_events(), first, last, hist, gaps);
        app.epoch_off = src.env().epoch(0);
        Session {
            app,
            src,
            rules: None,
            live: None,
        }
    }

    /// Runs the indexer in the background; it sends [`AppEvent::Indexed`].
    pub fn spawn_indexer(&self, tx: Sender<AppEvent>) {
        let (cap, table) = (Arc::clone(self.src.capture()), Arc::clone(self.src.table()));
        let (env, rules) = (Arc::clone(self.src.env()), self.rules.clone());
        std::thread::spawn(
            move || match jobs::index(&cap, &table, &env, rules.as_deref()) {
                Ok(ix) => {
                    let _ = tx.send(AppEvent::Indexed(Box::new(ix)));
                }
                Err(e) => {
                    let _ = tx.send(AppEvent::JobError(format!("indexing: {e}")));
                }
            },
        );
    }

    /// Runs the indexer now and applies its result (tests, export).
    pub fn index_now(&mut self) -> Result<(), TuiError> {
        let ix = jobs::index(
            self.src.capture(),
            self.src.table(),
            self.src.env(),
            self.rules.as_deref(),
        )
        .map_err(|message| TuiError::Job {
            job: "indexer",
            message,
        })?;
        self.src.set_checkpoints(Arc::clone(&ix.checkpoints));
        self.app.on_event(AppEvent::Indexed(Box::new(ix)));
        Ok(())
    }

    /// Runs a command synchronously (scans run to completion): for tests
    /// and non-interactive use.
    pub fn run_command(&mut self, cmd: Command) -> Result<(), TuiError> {
        let Some(cmd) = prepare::run_local(&mut self.app, &self.src, cmd) else {
            return Ok(());
        };
        if let Command::Scan(req) = cmd {
            let (tx, rx) = std::sync::mpsc::channel();
            let cur = std::sync::atomic::AtomicU64::new(req.generation);
            jobs::scan(
                self.src.capture(),
                self.src.table(),
                self.src.env(),
                &req,
                &cur,
                &tx,
            )
            .map_err(|message| TuiError::Job {
                job: "filter scan",
                message,
            })?;
            drop(tx);
            for ev in rx {
                self.app.on_event(ev);
            }
        }
        Ok(())
    }

    /// Loads saker's default ruleset (what `saker rules` runs without `-r`).
    pub fn set_default_rules(&mut self) -> Result<Vec<String>, TuiError> {
        self.set_rules(&[(
            crate::rules::DEFAULT_RULES_NAME,
            crate::rules::DEFAULT_RULES,
        )])
    }

    /// Loads rules (`(name, text)` files in order) to run at indexing.
    pub fn set_rules(&mut self, files: &[(&str, &str)]) -> Result<Vec<String>, TuiError> {
        let table = self.src.table();
        let loaded = crate::rules::load(
            files,
            &crate::filter::fields::Fields,
            table,
            &Default::default(),
        )
        .map_err(|e| TuiError::Rules {
            message: e.to_string(),
        })?;
        let opts = crate::rules::EngineOptions {
            rule_matching: crate::rules::RuleMatching::First,
            min_priority: crate::rules::Priority::Debug,
            enable_tags: Vec::new(),
            disable_tags: Vec::new(),
            hostname: self.src.capture().meta().machine.hostname.clone(),
        };
        let engine = Engine::new(
            loaded.ruleset,
            opts,
            crate::rules::NCODES,
            &crate::rules::type_of(table),
        );
        self.rules = Some(Arc::new(engine));
        self.app.rules_loaded = true;
        Ok(loaded.warnings.iter().map(|w| w.to_string()).collect())
    }

    /// Applies an action and runs what it asks for synchronously.
    pub fn act(&mut self, a: Action) -> Result<(), TuiError> {
        if let Some(c) = self.app.update(a) {
            self.run_command(c)?;
        }
        Ok(())
    }

    /// Lays out for `area`, loads what is shown and derives the side panes.
    pub fn prepare(&mut self, area: ratatui::layout::Rect) {
        let a = ui::layout(area);
        self.app.page = a.event_rows().height.max(1);
        self.app.derived.timeline_width = a.timeline_bars().width.max(1);
        prepare::prepare(&mut self.app, &mut self.src);
    }
}
