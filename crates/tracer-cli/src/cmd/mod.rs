//! One module per subcommand; [`run`] dispatches.

use anyhow::Result;

use crate::cli::Command;
use crate::output::Output;

pub mod by;
pub mod capture;
pub mod collect;
pub mod events;
pub mod export;
pub mod fields;
pub mod list;
pub mod live;
pub mod spectro;
pub mod statsd;
pub mod summary;

/// Runs one subcommand.
pub fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Summary(a) => summary::run(a, out),
        Command::List(a) => list::run(a, out),
        Command::Spectro(a) => spectro::run(a, out),
        Command::By(a) => by::run(a, out),
        Command::Fields(a) => fields::run(a, out),
        Command::Capture(a) => capture::run(a, out),
        Command::Events(a) => events::run(a, out),
        Command::Statsd(a) => statsd::run(a, out),
        Command::Export(a) => export::run(a, out),
    }
}
