//! The one error a phase can end with: which phase, one line, and the end of its log.

use crate::phase::Phase;
use std::path::{Path, PathBuf};

/// How many log lines an error carries (enough to see a traceback's last frame and message).
pub const TAIL_LINES: usize = 15;

#[derive(Debug, thiserror::Error)]
#[error("{phase}: {message}")]
pub struct StepError {
    pub phase: Phase,
    pub message: String,
    /// The log the failing step wrote, when it had one.
    pub log: Option<PathBuf>,
    /// Its last lines (at most [`TAIL_LINES`]).
    pub tail: Vec<String>,
}

impl StepError {
    pub fn new(phase: Phase, message: impl Into<String>) -> Self {
        StepError {
            phase,
            message: message.into(),
            log: None,
            tail: Vec::new(),
        }
    }

    /// Attaches `log` and its last lines.
    pub fn with_log(mut self, log: &Path) -> Self {
        self.tail = tail_lines(log, TAIL_LINES);
        self.log = Some(log.to_path_buf());
        self
    }
}

/// The last `n` non-empty lines of a file (lossy UTF-8; empty when it cannot be read).
pub fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].iter().map(|l| l.to_string()).collect()
}
