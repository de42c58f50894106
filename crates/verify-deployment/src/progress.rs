//! Progress lines on stderr: one line when a step starts and one each time what it is waiting for
//! changes (never one per poll), so a log stays short and a terminal stays readable.

use crate::report::Step;
use markers::term::{Color, paint};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Progress {
    color: bool,
    last: Arc<Mutex<HashMap<Step, String>>>,
    /// Tests collect lines here instead of writing to stderr.
    capture: Option<Arc<Mutex<Vec<String>>>>,
    quiet: bool,
}

impl Progress {
    pub fn stderr(color: bool) -> Self {
        Progress {
            color,
            last: Default::default(),
            capture: None,
            quiet: false,
        }
    }

    pub fn quiet() -> Self {
        Progress {
            quiet: true,
            ..Progress::stderr(false)
        }
    }

    /// Collects lines in memory (for tests).
    pub fn capture() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines: Arc<Mutex<Vec<String>>> = Default::default();
        (
            Progress {
                capture: Some(lines.clone()),
                ..Progress::stderr(false)
            },
            lines,
        )
    }

    /// Reports `msg` for `step` unless it is what was last reported for it.
    pub fn say(&self, step: Step, msg: &str) {
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.get(&step).is_some_and(|m| m == msg) {
                return;
            }
            last.insert(step, msg.to_string());
        }
        let line = format!(
            "{} {msg}",
            paint(self.color, Color::Dim, &format!("[{step}]"))
        );
        if let Some(c) = &self.capture {
            c.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        } else if !self.quiet {
            eprintln!("{line}");
        }
    }
}
