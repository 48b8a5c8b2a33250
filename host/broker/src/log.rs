//! `greenroom:plugin/log`: plugin logging through the host's tracing,
//! within a per-call budget.

use crate::session::Session;
use greenroom_contract::wit::latest::greenroom::plugin::log::{Host, Level};
use greenroom_store::now_ms;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Lines one call may log. A plugin logging in a loop would otherwise fill
/// the host's log and disk; the rest of the call's lines are dropped.
const MAX_LINES_PER_CALL: u32 = 100;

/// The longest line kept; longer lines are cut at a character boundary.
const MAX_LINE_BYTES: usize = 8 * 1024;

/// Warnings and errors kept per plugin for its health page.
const TAIL_LINES: usize = 50;

/// How much a call has logged so far.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    lines: u32,
}

/// One warning or error a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// `warn` or `error`.
    pub level: &'static str,
    /// The message, cut to the line limit.
    pub message: String,
}

/// A plugin's latest warnings and errors, newest last.
#[derive(Debug, Clone, Default)]
pub struct LogTail(Arc<Mutex<VecDeque<LogLine>>>);

impl LogTail {
    fn push(&self, line: LogLine) {
        let mut lines = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<LogLine> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

fn truncate(message: &str) -> &str {
    if message.len() <= MAX_LINE_BYTES {
        return message;
    }
    let mut end = MAX_LINE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

impl Host for Session {
    async fn log(&mut self, level: Level, message: String) {
        self.log_budget.lines += 1;
        let plugin = self.env().id().as_str();
        if self.log_budget.lines > MAX_LINES_PER_CALL {
            if self.log_budget.lines == MAX_LINES_PER_CALL + 1 {
                tracing::warn!(target: "greenroom::plugin", plugin, "log budget of {MAX_LINES_PER_CALL} lines per call used up; dropping the rest");
            }
            return;
        }
        let message = truncate(&message);
        match level {
            Level::Trace => tracing::trace!(target: "greenroom::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "greenroom::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "greenroom::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "greenroom::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "greenroom::plugin", plugin, "{message}"),
        }
        let tail_level = match level {
            Level::Warn => "warn",
            Level::Error => "error",
            _ => return,
        };
        self.env().log_tail().push(LogLine {
            at_ms: now_ms(),
            level: tail_level,
            message: message.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_lines_at_a_character_boundary() {
        let long = "é".repeat(MAX_LINE_BYTES);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_LINE_BYTES && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn keeps_only_the_latest_lines() {
        let tail = LogTail::default();
        for i in 0..TAIL_LINES + 5 {
            tail.push(LogLine {
                at_ms: 0,
                level: "warn",
                message: i.to_string(),
            });
        }
        let lines = tail.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines[0].message, "5");
    }
}
