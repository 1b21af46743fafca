//! `tracer`: capture application spans with eBPF and analyse captures.
//!
//! Thin entry point: parse the command line, run the subcommand, turn any error into
//! one clear line on stderr and a non-zero exit code.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cli;
mod cmd;
mod output;
mod pipeline;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("tracer: internal error: {msg}{at} (please report this)");
    }));
    let cli = cli::Cli::parse();
    let out = output::Output::new(cli.color);
    match cmd::run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` joins the context chain on one line: "cannot open x: No such file".
            let line = format!("{e:#}").replace('\n', " ");
            eprintln!("tracer: error: {line}");
            ExitCode::FAILURE
        }
    }
}
