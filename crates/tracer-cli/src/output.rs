//! Where human and JSON output goes, and whether it is coloured.

use std::io::{self, IsTerminal, Write};

use crate::cli::ColorChoice;

/// Output settings shared by every subcommand.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Colour (ANSI escapes) on stdout.
    pub color: bool,
    /// Stdout is a terminal (progress/status lines, in-place refresh).
    pub tty: bool,
}

impl Output {
    /// Decides colour: `auto` = stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn new(choice: ColorChoice) -> Output {
        let tty = io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Output { color, tty }
    }

    /// Writes text to stdout as is.
    pub fn print(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes a value as pretty JSON followed by a newline.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut s = serde_json::to_string_pretty(value)?;
        s.push('\n');
        Ok(self.print(&s)?)
    }
}

/// True when the error is a closed stdout (`tracer events … | head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
