//! TUI benchmark: time to first frame (open + index-only histogram + the
//! first block, drawn into a TestBackend) on a 100k- and a 10M-event
//! synthetic capture, which must not grow with capture size; then the cost
//! of scrolling and jumping once blocks are cached (budget: 16 ms a frame).
//!
//! `cargo bench --bench tui` (env: TUI_BENCH_BIG=events for the big one).

use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use saker::capture::{synth, CaptureMeta, CaptureWriter, WriterOptions};
use saker::event::meta::Summary;
use saker::tui::ui::{Theme, View};
use saker::tui::{Action, Session, Source};

fn write_capture(path: &Path, events: u64) {
    let f = std::fs::File::create(path).expect("create");
    let mut w = CaptureWriter::new(
        BufWriter::new(f),
        &CaptureMeta::default(),
        WriterOptions {
            zstd_level: 1,
            block_size: 1 << 20,
        },
    )
    .expect("writer");
    let mut batch = Vec::new();
    let mut i = 0;
    while i < events {
        let n = (events - i).min(10_000);
        batch.clear();
        synth::records(i, n, 1_000_000, &mut batch);
        w.push_batch(&batch).expect("push");
        i += n;
    }
    w.finish(&Summary {
        events,
        ..Summary::default()
    })
    .expect("finish");
}

fn draw(s: &mut Session, t: &mut Terminal<TestBackend>) {
    s.prepare(Rect::new(0, 0, 160, 50));
    t.draw(|f| {
        f.render_widget(
            &View {
                app: &s.app,
                src: &s.src,
                theme: Theme { color: true },
            },
            f.area(),
        )
    })
    .expect("draw");
}

fn first_frame(path: &Path) -> (f64, Session) {
    let t0 = Instant::now();
    let src = Source::open(path, 16).expect("open");
    let mut s = Session::new(src);
    let mut term = Terminal::new(TestBackend::new(160, 50)).expect("term");
    draw(&mut s, &mut term);
    (t0.elapsed().as_secs_f64() * 1e3, s)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big: u64 = std::env::var("TUI_BENCH_BIG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    for n in [100_000u64, big] {
        let p = dir.path().join(format!("synth-{n}.sakr"));
        let t = Instant::now();
        write_capture(&p, n);
        let gen = t.elapsed().as_secs_f64();
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        let (ms, mut s) = first_frame(&p);
        println!(
            "{n:>10} events ({} blocks, {:.1} MB, generated in {gen:.1}s): first frame {ms:.1} ms",
            s.src.capture().blocks().len(),
            size as f64 / 1e6
        );
        let mut term = Terminal::new(TestBackend::new(160, 50)).expect("term");
        // Warm: the end and the start are cached after one visit each.
        s.act(Action::End).expect("end");
        draw(&mut s, &mut term);
        s.act(Action::Home).expect("home");
        draw(&mut s, &mut term);
        let t = Instant::now();
        let frames = 200;
        for i in 0..frames {
            s.act(Action::Move(if i % 40 < 20 { 1 } else { -1 }))
                .expect("move");
            draw(&mut s, &mut term);
        }
        let scroll = t.elapsed().as_secs_f64() * 1e3 / f64::from(frames);
        let t = Instant::now();
        for i in 0..50 {
            s.act(if i % 2 == 0 {
                Action::End
            } else {
                Action::Home
            })
            .expect("jump");
            draw(&mut s, &mut term);
        }
        let jump = t.elapsed().as_secs_f64() * 1e3 / 50.0;
        println!("{:>10}   cached scroll {scroll:.2} ms/frame, cached jump start<->end {jump:.2} ms/frame (budget 16 ms); cache hits {} misses {}",
            "", s.src.cache().hits(), s.src.cache().misses());
    }
}
