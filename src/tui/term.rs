//! The terminal side: a guard that restores the terminal on drop, on panic
//! (panic hook) and on SIGTERM/SIGINT/SIGHUP (a signal thread sends
//! [`AppEvent::Terminate`]); the input thread; and the main loop
//! (receive one [`AppEvent`] → update → prepare → draw).

use std::io::{self, Stdout};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;

use super::action::{key_action, mouse_action, Areas as MouseAreas, Drag};
use super::app::Command;
use super::jobs::{self, AppEvent};
use super::live::REFRESH;
use super::prepare::{prepare, run_local};
use super::ui::{layout, Theme, View};
use super::{notes, Session, TuiError};

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, DisableMouseCapture);
    let _ = execute!(io::stdout(), ratatui::crossterm::cursor::Show);
}

/// Owns the terminal while the TUI runs; restores it when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, enables the mouse, and
    /// installs a panic hook that restores the terminal before reporting.
    pub fn new() -> Result<Self, TuiError> {
        let io = |e| TuiError::Io {
            what: "setting up the terminal".into(),
            source: e,
        };
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        enable_raw_mode().map_err(io)?;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture).map_err(io)?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout())).map_err(io)?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn spawn_input(tx: Sender<AppEvent>) {
    std::thread::spawn(move || loop {
        match event::poll(Duration::from_millis(250)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let ev = match event::read() {
            Ok(Event::Key(k)) => AppEvent::Key(k),
            Ok(Event::Mouse(m)) => AppEvent::Mouse(m),
            Ok(Event::Resize(w, h)) => AppEvent::Resize(w, h),
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(ev).is_err() {
            return;
        }
    });
}

fn spawn_signals(tx: Sender<AppEvent>) -> Result<(), TuiError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut s = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]).map_err(|e| {
        TuiError::Io {
            what: "installing signal handlers".into(),
            source: e,
        }
    })?;
    std::thread::spawn(move || {
        if s.forever().next().is_some() {
            let _ = tx.send(AppEvent::Terminate);
        }
    });
    Ok(())
}

/// Runs the interactive TUI on an opened session until the user quits.
pub fn run(s: Session, capture_path: Option<PathBuf>) -> Result<(), TuiError> {
    let (tx, rx) = mpsc::channel();
    run_with(s, capture_path, tx, rx)
}

/// Runs the TUI on the app channel `tx`/`rx`, which other producers (a live
/// recorder sending [`AppEvent::Live`]) may share.
pub fn run_with(
    mut s: Session,
    capture_path: Option<PathBuf>,
    tx: Sender<AppEvent>,
    rx: Receiver<AppEvent>,
) -> Result<(), TuiError> {
    spawn_signals(tx.clone())?;
    if s.live.is_none() {
        s.spawn_indexer(tx.clone());
    }
    let current = Arc::new(AtomicU64::new(0));
    let mut guard = TerminalGuard::new()?;
    spawn_input(tx.clone());
    let theme = Theme::from_env();
    let mut drag = Drag::default();
    let io = |e| TuiError::Io {
        what: "drawing".into(),
        source: e,
    };
    loop {
        let size = guard.terminal.size().map_err(io)?;
        let areas = layout(ratatui::layout::Rect::new(0, 0, size.width, size.height));
        s.app.page = areas.event_rows().height.max(1);
        s.app.derived.timeline_width = areas.timeline_bars().width.max(1);
        prepare(&mut s.app, &mut s.src);
        guard
            .terminal
            .draw(|f| {
                f.render_widget(
                    &View {
                        app: &s.app,
                        src: &s.src,
                        theme,
                    },
                    f.area(),
                )
            })
            .map_err(io)?;
        let ev = if s.live.is_some() {
            match rx.recv_timeout(REFRESH) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(ev) => Some(ev),
                Err(_) => break,
            }
        };
        let cmd = match ev {
            None => None,
            Some(AppEvent::Live(batch)) => {
                if let Err(e) = s.push_live(&batch) {
                    s.app.status = e.to_string();
                }
                None
            }
            Some(AppEvent::LiveEnded(why)) => {
                if let Err(e) = s.refresh_live() {
                    s.app.status = e.to_string();
                }
                s.end_live(why);
                None
            }
            Some(ev) => handle(&mut s, ev, &areas, &mut drag),
        };
        if s.live_due() {
            if let Err(e) = s.refresh_live() {
                s.app.status = e.to_string();
            }
        }
        if let Some(c) = cmd.and_then(|c| run_local(&mut s.app, &s.src, c)) {
            match c {
                Command::Scan(req) => {
                    current.store(req.generation, Ordering::Relaxed);
                    let (cap, table, env) = (
                        s.src.capture().clone(),
                        s.src.table().clone(),
                        s.src.env().clone(),
                    );
                    let (tx, cur) = (tx.clone(), Arc::clone(&current));
                    std::thread::spawn(move || {
                        if let Err(e) = jobs::scan(&cap, &table, &env, &req, &cur, &tx) {
                            let _ = tx.send(AppEvent::JobError(format!("filter scan: {e}")));
                        }
                    });
                }
                Command::SaveNotes => {
                    if let Some(p) = &capture_path {
                        if let Err(e) = notes::save(p, &s.app.notes) {
                            s.app.status = e.to_string();
                        }
                    }
                }
                Command::SeekTime(_) => {}
            }
        }
        if s.app.quit {
            break;
        }
    }
    drop(guard);
    Ok(())
}

/// Dispatches one input or job event; returns what the runner must do.
fn handle(
    s: &mut Session,
    ev: AppEvent,
    areas: &super::ui::Areas,
    drag: &mut Drag,
) -> Option<Command> {
    match ev {
        AppEvent::Terminate => {
            s.app.quit = true;
            None
        }
        AppEvent::Key(k) => key_action(k, s.app.focus, s.app.prompt).and_then(|a| s.app.update(a)),
        AppEvent::Mouse(m) => {
            let ma = MouseAreas {
                timeline: areas.timeline_bars(),
                events: areas.event_rows(),
            };
            mouse_action(m, &ma, drag).and_then(|a| s.app.update(a))
        }
        AppEvent::Resize(..) => None,
        AppEvent::Indexed(ix) => {
            s.src.set_checkpoints(Arc::clone(&ix.checkpoints));
            s.app.on_event(AppEvent::Indexed(ix));
            None
        }
        other => {
            s.app.on_event(other);
            None
        }
    }
}
