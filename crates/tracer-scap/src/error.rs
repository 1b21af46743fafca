//! Errors and warnings of the reader and the writer.

use std::fmt;
use std::io;

/// A capture could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    /// An I/O error of the underlying file (not end-of-file, which is a [`ScapWarning`]).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with a section header block.
    #[error("not a scap capture: first block type is {0:#010x}, expected 0x0a0d0d0a")]
    NotScap(u32),
    /// The section header's byte-order magic is byte-swapped or wrong.
    #[error("unsupported byte-order magic {0:#010x} (only little-endian 0x1a2b3c4d captures are supported)")]
    BadMagic(u32),
    /// The section header announces a major version this reader does not know.
    #[error("unsupported scap version {major}.{minor} (major version 1 expected)")]
    UnsupportedVersion {
        /// Major version from the file.
        major: u16,
        /// Minor version from the file.
        minor: u16,
    },
    /// The file ended before the first block was complete.
    #[error("not a scap capture: the file is shorter than a section header ({0} bytes)")]
    TooShort(u64),
    /// The writer was given something it cannot store.
    #[error("cannot write event: {0}")]
    Unwritable(String),
}

/// Why reading stopped early. Everything before [`ScapWarning::offset`] was returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// The file ends inside a block.
    Truncated {
        /// Bytes the block header announced (or the header size).
        expected: u64,
        /// Bytes actually present.
        got: u64,
    },
    /// A block is malformed (bad length or trailer), so the rest of the file cannot be framed.
    Corrupt(String),
    /// The gzip stream is damaged.
    Decompression(String),
}

/// A problem that ended reading before the end of the file (damaged or truncated tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScapWarning {
    /// Byte offset (in the decompressed stream for gzip files) of the damaged block.
    pub offset: u64,
    /// What was wrong.
    pub kind: WarningKind,
}

impl fmt::Display for ScapWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            WarningKind::Truncated { expected, got } => write!(
                f,
                "capture truncated at byte offset {}: block needs {} bytes, only {} present; \
                 everything before this offset was read",
                self.offset, expected, got
            ),
            WarningKind::Corrupt(m) => write!(
                f,
                "capture corrupt at byte offset {}: {}; everything before this offset was read",
                self.offset, m
            ),
            WarningKind::Decompression(m) => write!(
                f,
                "gzip stream damaged at (decompressed) byte offset {}: {}; everything before \
                 this offset was read",
                self.offset, m
            ),
        }
    }
}
