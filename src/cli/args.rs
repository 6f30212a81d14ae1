//! Command-line arguments (clap derive): parsed and checked here, without I/O.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// saker: record every syscall into a compressed, indexed, tamper-evident
/// capture, and analyze captures (ours or sysdig's .scap) without root.
#[derive(Debug, Parser)]
#[command(name = "saker", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Record syscalls system-wide (or of one command) into a capture file.
    Record(RecordArgs),
    /// Print the events of a capture, one line each (sysdig style).
    Read(ReadArgs),
    /// Summarize a capture from its index, without decompressing events.
    Info(InfoArgs),
    /// Check every checksum and the hash chain of a capture.
    Verify(VerifyArgs),
    /// Convert a sysdig/Falco .scap capture into saker's format.
    Convert(ConvertArgs),
    /// Investigate a capture interactively: timeline, events, filter, processes, alerts.
    Tui(TuiArgs),
    /// Run Falco rules over a capture (ours or a .scap) and print the alerts.
    Replay(ReplayArgs),
    /// Check or list Falco rules files.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Run rule test specs (capture + rules + expected alerts).
    Test(TestArgs),
    /// List every filter/output field with its type and description (like `sysdig -l`).
    Fields(FieldsArgs),
    /// List the chisels by category, or describe one and its arguments.
    #[cfg(feature = "analytics")]
    Chisels(ChiselsArgs),
    /// Run SQL over a capture's events (table `events`).
    #[cfg(feature = "analytics")]
    Query(QueryArgs),
    /// Write a capture's events to Parquet, CSV or JSON lines.
    #[cfg(feature = "analytics")]
    Export(ExportArgs),
}

/// `saker fields`.
#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `-t` time formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeFmt {
    /// Human readable time of day (default).
    H,
    /// Absolute: seconds since the epoch.
    A,
    /// Relative: seconds since the capture's first event (printed or not).
    R,
    /// Syscall latency (entry to exit), when recorded.
    #[value(name = "d")]
    LatencyD,
    /// Delta: seconds since the previous event that passed the filter (the
    /// capture's first event for the first one), as sysdig.
    #[value(name = "D")]
    DeltaD,
}

/// `saker convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The .scap file (plain or gzipped).
    pub input: PathBuf,
    /// Where to write the saker capture (mode 0600).
    #[arg(short = 'w', long = "write", value_name = "OUT")]
    pub write: PathBuf,
    /// zstd level.
    #[arg(short = 'z', long = "compress", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
    /// No summary line.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `saker chisels`.
#[derive(Debug, Args)]
pub struct ChiselsArgs {
    /// A chisel to describe.
    pub name: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `saker query`.
///
/// The `events` table has one column per field, named like the field with
/// `.` (and `[`, `]`) replaced by `_`: `evt.type` is `evt_type`, `proc.name`
/// is `proc_name`, `fd.name` is `fd_name`, `proc.aname[2]` is
/// `proc_aname_2`. Default columns: evt_num, evt_rawtime, evt_cpu, evt_type,
/// evt_rawres, evt_latency, proc_name, proc_pid, thread_tid, proc_ppid,
/// user_name, fd_num, fd_type, fd_name, container_id.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct QueryArgs {
    /// Capture to query.
    pub file: std::path::PathBuf,
    /// SQL over the table `events`, e.g. `SELECT proc_name, COUNT(*) AS n FROM events GROUP BY proc_name ORDER BY n DESC`.
    pub sql: String,
    /// Fields to load as columns (comma-separated field names).
    #[arg(long, value_name = "a,b,c")]
    pub fields: Option<String>,
    /// Only events matching this filter (sysdig/Falco syntax).
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Only events at or after TIME (`YYYY-MM-DD HH:MM:SS`, `@EPOCH`, or seconds from the start).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before TIME.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// JSON lines output.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV output.
    #[arg(long)]
    pub csv: bool,
}

/// `saker export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Capture to export.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: std::path::PathBuf,
    /// Filter expression (sysdig/Falco syntax).
    #[arg(value_name = "FILTER", num_args = 0..)]
    pub filter: Vec<String>,
    /// parquet, csv or jsonl.
    #[arg(long, default_value = "parquet")]
    pub format: String,
    /// Output file (a directory with --partition-by).
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    pub out: std::path::PathBuf,
    /// Fields to export (comma-separated); columns are named with `.` → `_`.
    #[arg(long, value_name = "a,b,c")]
    pub fields: Option<String>,
    /// `hour`: hive layout OUT/date=YYYY-MM-DD/hour=HH/part-N.EXT.
    #[arg(long, value_name = "hour")]
    pub partition_by: Option<String>,
    /// Only events at or after TIME.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before TIME.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

/// `saker record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Capture file to write (mode 0600). With rotation, a base name.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: PathBuf,
    /// Stop after this many seconds.
    #[arg(short = 'M', value_name = "SECS")]
    pub duration: Option<f64>,
    /// Stop after this many events.
    #[arg(short = 'n', long = "numevents", value_name = "EVENTS")]
    pub numevents: Option<u64>,
    /// Bytes of I/O buffers to capture per syscall.
    #[arg(short = 's', long = "snaplen", default_value_t = 80, value_parser = clap::value_parser!(u32).range(0..=32767))]
    pub snaplen: u32,
    /// Rotate when a file reaches this many megabytes (1 MB = 1,000,000 bytes).
    #[arg(short = 'C', long = "file-size", value_name = "MB")]
    pub file_size: Option<u64>,
    /// Rotate every this many seconds.
    #[arg(short = 'G', long = "seconds", value_name = "SECS")]
    pub seconds: Option<u64>,
    /// With -C or -G: keep at most this many files, reusing names round-robin.
    #[arg(short = 'W', long = "limit", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// zstd compression level of event blocks (1-19).
    #[arg(short = 'z', long = "compress", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
    /// Only record this process (thread group); repeatable, at most 16.
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Only record processes with this comm; repeatable, at most 8.
    #[arg(long = "comm", value_name = "NAME")]
    pub comms: Vec<String>,
    /// Only record the launched command and its descendants.
    #[arg(long = "only-cmd", requires = "command")]
    pub only_cmd: bool,
    /// Record syscall entry times too (latency), at some cost.
    #[arg(long)]
    pub latency: bool,
    /// Per-CPU ring buffer size in MiB (a power of two).
    #[arg(long = "ring-mb", default_value_t = 16)]
    pub ring_mb: u32,
    /// Per-CPU ring buffer size in KiB (overrides --ring-mb; for tests).
    #[arg(long = "ring-kb", hide = true)]
    pub ring_kb: Option<u32>,
    /// Uncompressed bytes per capture block, in KiB.
    #[arg(long = "block-kb", default_value_t = 1024)]
    pub block_kb: usize,
    /// No status line and no summary.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print the summary as JSON on stdout (and, with --rules, alerts as JSON lines).
    #[arg(long)]
    pub json: bool,
    /// Live alerts: run these Falco rules files (in load order; repeatable) on the events
    /// as they are recorded and print the alerts on stdout. `default` is saker's own ruleset.
    #[arg(short = 'R', long = "rules", value_name = "RULES")]
    pub rules: Vec<PathBuf>,
    /// With --rules: disable rules with this tag; repeatable.
    #[arg(
        short = 'T',
        value_name = "TAG",
        requires = "rules",
        conflicts_with = "enable_tags"
    )]
    pub disable_tags: Vec<String>,
    /// With --rules: run only rules with this tag; repeatable.
    #[arg(short = 't', value_name = "TAG", requires = "rules")]
    pub enable_tags: Vec<String>,
    /// With --rules: skip rules less severe than this priority.
    #[arg(long = "min-priority", value_name = "PRIORITY", requires = "rules")]
    pub min_priority: Option<String>,
    /// With --rules: alert on the first matching rule per event, or on all of them.
    #[arg(long = "rule-matching", value_enum, requires = "rules")]
    pub rule_matching: Option<Matching>,
    /// Watch the recording in the TUI while it is written (quit stops it); its alerts pane
    /// runs the `-R` rules, else saker's default ruleset. A `-- CMD` then reads /dev/null
    /// and writes its stdout and stderr to FILE.log (mode 0600), not over the screen.
    #[arg(
        long,
        conflicts_with_all = ["file_size", "seconds", "json", "disable_tags", "enable_tags", "min_priority", "rule_matching"]
    )]
    pub tui: bool,
    /// Command to run once the probes are attached; recording stops when it exits.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `saker read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Capture to read (ours or a sysdig/Falco .scap).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: PathBuf,
    /// Filter expression (sysdig/Falco syntax), e.g. `evt.type=openat and fd.name startswith /etc`.
    #[arg(value_name = "FILTER", num_args = 0..)]
    pub filter: Vec<String>,
    /// Output format, sysdig style (`%evt.num %proc.name ...`).
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    pub format: Option<String>,
    /// JSON lines with typed values.
    #[arg(short = 'j', long = "json")]
    pub json: bool,
    /// Stop after this many printed events.
    #[arg(short = 'n', long = "numevents", value_name = "N")]
    pub numevents: Option<u64>,
    /// Run a chisel instead of printing events: `-c NAME [ARGS...]` (after the filter).
    #[arg(short = 'c', long = "chisel", value_name = "CHISEL", num_args = 1.., allow_hyphen_values = true)]
    pub chisel: Vec<String>,
    /// State chisels (ps, lsof, netstat): the state at TIME instead of the end.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// How %evt.outputtime (the default line's time) is shown.
    #[arg(short = 't', long = "timetype", value_enum, default_value = "h")]
    pub timetype: TimeFmt,
    /// Print I/O buffers as printable ASCII (others as '.').
    #[arg(short = 'A', long = "print-ascii", group = "bufmode")]
    pub ascii: bool,
    /// Print I/O buffers in hex.
    #[arg(short = 'x', long = "print-hex", group = "bufmode")]
    pub hex: bool,
    /// Print I/O buffers in hex and ASCII.
    #[arg(short = 'X', long = "print-hex-ascii", group = "bufmode")]
    pub hex_ascii: bool,
    /// Print I/O buffers in base64.
    #[arg(short = 'b', long = "print-base64", group = "bufmode")]
    pub base64: bool,
    /// Print whole captured buffers (default: the first 40 bytes).
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// sysdig compatibility: the filter only selects what is printed. saker
    /// always feeds every event to the state, so this is already the behaviour.
    #[arg(short = 'd', long = "display-filter")]
    pub display_filter: bool,
    /// Print events from this time: RFC 3339, HH:MM:SS[.frac] (UTC, capture day),
    /// +DURATION from the first event or -DURATION from the last (5s, 2m, 100ms).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Print events up to this time (same forms as --from).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
}

/// `saker info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Capture to summarize.
    pub file: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `saker verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Capture to check.
    pub file: PathBuf,
    /// The final chain hash printed when the capture was recorded.
    #[arg(long, value_name = "HASH")]
    pub expect: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `saker replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture to replay (ours or a sysdig/Falco .scap).
    #[arg(short = 'r', long = "read", value_name = "CAPTURE")]
    pub read: PathBuf,
    /// Rules file, in load order; repeatable.
    /// Without -R, saker's own default ruleset is used.
    #[arg(short = 'R', long = "rules", value_name = "RULES")]
    pub rules: Vec<PathBuf>,
    /// Disable rules with this tag; repeatable.
    #[arg(short = 'T', value_name = "TAG", conflicts_with = "enable_tags")]
    pub disable_tags: Vec<String>,
    /// Run only rules with this tag; repeatable.
    #[arg(short = 't', value_name = "TAG")]
    pub enable_tags: Vec<String>,
    /// Print alerts as JSON lines (Falco's schema).
    #[arg(long)]
    pub json: bool,
    /// Write alerts to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Skip rules less severe than this priority.
    #[arg(
        long = "min-priority",
        value_name = "PRIORITY",
        default_value = "debug"
    )]
    pub min_priority: String,
    /// Alert on the first matching rule per event, or on all of them.
    #[arg(long = "rule-matching", value_enum, default_value = "first")]
    pub rule_matching: Matching,
    /// Append Falco's suggested container fields to every output.
    #[arg(long = "suggested-output")]
    pub suggested_output: bool,
    /// No summary on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `--rule-matching`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Matching {
    /// First matching rule only.
    First,
    /// Every matching rule.
    All,
}

/// `saker rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Load rules files (in order) and print errors and warnings; exit 1 on errors.
    Validate(RulesValidateArgs),
    /// List the enabled rules with their event types.
    List(RulesListArgs),
}

/// `saker rules validate`.
#[derive(Debug, Args)]
pub struct RulesValidateArgs {
    /// Rules files, in load order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `saker rules list`.
#[derive(Debug, Args)]
pub struct RulesListArgs {
    /// Rules file, in load order; repeatable.
    /// Without -R, saker's own default ruleset is used.
    #[arg(short = 'R', long = "rules", value_name = "RULES")]
    pub rules: Vec<PathBuf>,
    /// Print every rule, enabled or not.
    #[arg(short = 'a', long)]
    pub all: bool,
}

/// `saker test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Spec files.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Rewrite each spec's expectations with the actual results.
    #[arg(long)]
    pub bless: bool,
}

/// `saker tui`.
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Capture to open.
    pub file: PathBuf,
    /// Falco rules file to run when opening (alerts pane); repeatable.
    /// Without it, saker's default ruleset runs.
    #[arg(short = 'R', long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Event-list columns, sysdig style (`%evt.num %proc.name %evt.info`):
    /// one column per field.
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write the markdown incident timeline (bookmarks, notes, alerts,
    /// process tree) to FILE (`-` for stdout) instead of starting the TUI.
    #[arg(long = "export-notes", value_name = "FILE")]
    pub export_notes: Option<PathBuf>,
}
