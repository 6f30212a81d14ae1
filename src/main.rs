//! saker command-line entry point: parse arguments, run the command, map
//! the outcome to an exit code (0 ok, 1 "found a problem", 2 error; a broken
//! pipe is a clean exit).

mod cli;

use clap::Parser;

fn run(c: cli::Cli) -> anyhow::Result<i32> {
    match c.cmd {
        #[cfg(feature = "bpf")]
        cli::Cmd::Record(a) => cli::record::run(&a),
        #[cfg(not(feature = "bpf"))]
        cli::Cmd::Record(_) => {
            anyhow::bail!("this build of saker has no recorder (built without the `bpf` feature)")
        }
        cli::Cmd::Info(a) => cli::info::run(&a),
        cli::Cmd::Verify(a) => cli::verify::run(&a),
        #[cfg(feature = "analytics")]
        cli::Cmd::Read(a) if !a.chisel.is_empty() => cli::chisel::run_read(&a),
        cli::Cmd::Convert(a) => cli::convert::run(&a),
        cli::Cmd::Read(a) => cli::read::run(&a),
        cli::Cmd::Fields(a) => cli::fields::run(&a),
        cli::Cmd::Replay(a) => cli::replay::run(&a),
        cli::Cmd::Rules(c) => cli::rules::run(&c),
        cli::Cmd::Test(a) => cli::test::run(&a),
        #[cfg(feature = "analytics")]
        cli::Cmd::Chisels(a) => cli::chisel::run_list(&a),
        #[cfg(feature = "analytics")]
        cli::Cmd::Query(a) => cli::chisel::run_query(&a),
        #[cfg(feature = "analytics")]
        cli::Cmd::Export(a) => cli::chisel::run_export(&a),
        cli::Cmd::Tui(a) => cli::tui::run(&a),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(broken)
            // A transparent variant is the io::Error's place in the chain.
            || matches!(
                c.downcast_ref::<saker::output::OutputError>(),
                Some(saker::output::OutputError::Io(io)) if broken(io)
            )
    })
}

/// The error and its causes, `: `-joined; a cause whose text the message
/// already holds (an error enum that prints its source) is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

fn main() {
    let c = cli::Cli::parse();
    let code = match run(c) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            eprintln!("saker: {}", message(&e));
            2
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::message;
    use anyhow::Context;

    #[test]
    fn a_broken_pipe_is_seen_through_output_errors() {
        use super::is_broken_pipe;
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let wrapped =
            Err::<(), _>(saker::output::OutputError::Io(pipe())).context("reading events");
        assert!(is_broken_pipe(&wrapped.unwrap_err()));
        let plain = Err::<(), _>(pipe()).context("writing");
        assert!(is_broken_pipe(&plain.unwrap_err()));
        let other = saker::output::OutputError::Io(std::io::Error::other("disk full"));
        assert!(!is_broken_pipe(&anyhow::Error::new(other)));
    }

    #[test]
    fn causes_are_joined_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("creating x: {source}")]
        struct Creating {
            source: std::io::Error,
        }
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Creating { source: io });
        assert_eq!(message(&e), "creating x: no such file");
        let e: anyhow::Error = Err::<(), _>(std::io::Error::other("disk full"))
            .context("writing y")
            .unwrap_err();
        assert_eq!(message(&e), "writing y: disk full");
    }
}
