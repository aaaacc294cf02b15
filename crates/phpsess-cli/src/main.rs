//! The `phpsess` command: decode, encode and inspect PHP sessions. `main` only maps the outcome of
//! [`run`] to an exit code and a one-line error; each subcommand lives in `cmd/`.

mod cmd;
mod credentials;
mod input;
mod metrics;
mod output;
mod progress;
mod target;

use std::io::{self, Write};
use std::process::ExitCode;
use std::thread;

use clap::Parser;

/// Exit code for bad input data, unreadable files and failed writes.
const EXIT_DATA: u8 = 1;
/// Exit code for a command line we cannot run (clap uses it too), and for `doctor` when it could
/// not check.
const EXIT_USAGE: u8 = 2;

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// It ran, and what it checked failed (`doctor`): exit [`EXIT_DATA`].
    Failed,
}

/// Deeply nested values (up to `phpsess::MAX_DEPTH` levels) are walked recursively by the
/// decoder, the JSON views and serde_json; the worker thread gets a stack that holds them all.
/// Only the pages actually touched are ever allocated.
const WORKER_STACK: usize = 256 << 20;

/// PHP sessions from the command line.
#[derive(Debug, Parser)]
#[command(name = "phpsess", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

/// A command line that parsed but cannot run (conflicting inputs); exits with [`EXIT_USAGE`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let worker = thread::Builder::new()
        .name("phpsess".into())
        .stack_size(WORKER_STACK)
        .spawn(run);
    let outcome = match worker {
        Ok(handle) => match handle.join() {
            Ok(outcome) => outcome,
            // The panic hook has already printed the panic; say it is ours, on one line.
            Err(_) => Err(anyhow::anyhow!("internal error (a bug in phpsess)")),
        },
        Err(e) => Err(anyhow::Error::new(e).context("cannot start the worker thread")),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Parse the command line and run the subcommand.
fn run() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return Ok(clap_exit(&e)),
    };
    Ok(match cli.command.run()? {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::from(EXIT_DATA),
    })
}

/// Help and version go to stdout with success; usage errors become one line on stderr.
fn clap_exit(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed stdout is not worth an error for --help.
            let _ = write!(io::stdout(), "{}", e.render());
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = write!(io::stderr(), "{}", e.render());
            ExitCode::from(EXIT_USAGE)
        }
        _ => {
            // clap's message: "error: …" lines, a blank line, then usage and tips.
            let text = e.render().to_string();
            let head = text.split("\n\n").next().unwrap_or_default();
            let line = head
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            let _ = writeln!(io::stderr(), "phpsess: {line} (see phpsess --help)");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The one place that turns an error into an exit code and a message.
fn report(err: &anyhow::Error) -> ExitCode {
    let broken_pipe = err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        // The reader went away (`phpsess decode big | head`): nothing to say, nothing failed.
        return ExitCode::SUCCESS;
    }
    let could_not_check = err.downcast_ref::<cmd::doctor::CouldNotCheck>().is_some();
    let code = if err.downcast_ref::<UsageError>().is_some() || could_not_check {
        EXIT_USAGE
    } else {
        EXIT_DATA
    };
    // `{:#}` joins the context chain with ": " on one line; messages themselves hold no newlines,
    // but guard against any that sneak in from a library.
    let message = format!("{err:#}").replace('\n', " ");
    let _ = writeln!(io::stderr(), "phpsess: {message}");
    ExitCode::from(code)
}
