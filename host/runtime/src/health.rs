//! Per-plugin health: calls and how long they took, by call kind; failures
//! by kind; calls in which the broker denied something; the latest errors.
//!
//! Every call records here, so recording is a handful of relaxed atomic
//! adds; only a failed call takes a (short, uncontended) lock, to keep its
//! message. Counters live in memory and start again at zero on restart.

mod histogram;

pub use histogram::Durations;

use histogram::DurationHistogram;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// How many of a plugin's latest errors are kept: enough to see whether
/// one failure repeats or several alternate. Each costs up to
/// [`MAX_ERROR_MESSAGE_BYTES`], so raising it costs memory per plugin.
pub const RECENT_ERRORS: usize = 20;

/// The longest error message kept, shown or logged, in bytes. A trap's
/// message can carry a whole backtrace and a plugin's own error anything it
/// likes (one sent 40 MiB, shown whole on the page and in the log); the
/// start says what happened. Every call error is cut to this
/// ([`crate::CallError::bounded`]) before it reaches a page, a log line or
/// this page.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 2048;

/// Which export was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `render`: drawing a slot.
    Render,
    /// `action`: a submitted form.
    Action,
    /// `handle`: a request to the plugin's API.
    Handle,
    /// `run-task`: a scheduled task.
    Task,
}

impl CallKind {
    /// Every kind, in display order.
    pub const ALL: [CallKind; 4] = [
        CallKind::Render,
        CallKind::Action,
        CallKind::Handle,
        CallKind::Task,
    ];

    /// A short name, e.g. `render`.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Render => "render",
            CallKind::Action => "action",
            CallKind::Handle => "handle",
            CallKind::Task => "task",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a call failed, as the health page counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A trap (crash).
    Trap,
    /// Stopped at its deadline.
    Deadline,
    /// No instance slot came free before its deadline (the portal was
    /// busy; nothing of the plugin ran).
    Busy,
    /// Over its memory limit.
    Memory,
    /// An import was denied and the plugin gave up.
    Denied,
    /// The plugin returned an error.
    PluginError,
    /// It returned a view or response that breaks the contract.
    InvalidOutput,
    /// The host failed around the call.
    Host,
}

impl FailureKind {
    /// Every kind, in display order.
    pub const ALL: [FailureKind; 8] = [
        FailureKind::Trap,
        FailureKind::Deadline,
        FailureKind::Busy,
        FailureKind::Memory,
        FailureKind::Denied,
        FailureKind::PluginError,
        FailureKind::InvalidOutput,
        FailureKind::Host,
    ];

    /// A short name, e.g. `deadline`.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Deadline => "deadline",
            FailureKind::Busy => "busy",
            FailureKind::Memory => "memory",
            FailureKind::Denied => "denied",
            FailureKind::PluginError => "plugin error",
            FailureKind::InvalidOutput => "invalid output",
            FailureKind::Host => "host",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One failed call, as kept for the health page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentError {
    /// When the call ended.
    pub at: SystemTime,
    /// Which export was called.
    pub call: CallKind,
    /// How it failed.
    pub kind: FailureKind,
    /// What the caller was told, cut at [`MAX_ERROR_MESSAGE_BYTES`].
    pub message: String,
}

/// A plugin's health, updated by every call.
#[derive(Debug, Default)]
pub struct PluginHealth {
    /// Durations by [`CallKind`], in its order; the calls are their counts.
    durations: [DurationHistogram; CallKind::ALL.len()],
    failures: [AtomicU64; FailureKind::ALL.len()],
    denied_calls: AtomicU64,
    recent: Mutex<VecDeque<RecentError>>,
}

/// How one kind of call is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStats {
    /// The kind.
    pub call: CallKind,
    /// Their durations (and count).
    pub durations: Durations,
}

/// A point-in-time copy of a plugin's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Calls made, of every kind.
    pub calls: u64,
    /// Failures by kind, in [`FailureKind::ALL`] order, with their counts.
    pub failures: Vec<(FailureKind, u64)>,
    /// Calls during which the broker denied at least one import, whether
    /// the plugin then failed or carried on.
    pub denied_calls: u64,
    /// Every call's duration.
    pub durations: Durations,
    /// By kind of call, in [`CallKind::ALL`] order.
    pub by_call: Vec<CallStats>,
    /// The latest failures, newest first (at most [`RECENT_ERRORS`]).
    pub recent_errors: Vec<RecentError>,
}

impl HealthSnapshot {
    /// All failures, of every kind.
    pub fn total_failures(&self) -> u64 {
        self.failures.iter().map(|(_, n)| n).sum()
    }

    /// The failures of one kind.
    pub fn failures_of(&self, kind: FailureKind) -> u64 {
        self.failures[kind.index()].1
    }

    /// The mean duration of a call; zero before the first.
    pub fn mean_duration(&self) -> Duration {
        self.durations.mean().unwrap_or_default()
    }

    /// The last failure.
    pub fn last_failure(&self) -> Option<&RecentError> {
        self.recent_errors.first()
    }
}

impl PluginHealth {
    /// Counts one call: its kind, how long it took, how many imports the
    /// broker denied during it, and how it failed, if it did.
    pub(crate) fn record(
        &self,
        call: CallKind,
        elapsed: Duration,
        denials: u32,
        failure: Option<(FailureKind, String)>,
    ) {
        self.durations[call.index()].record(elapsed);
        if denials > 0 {
            self.denied_calls.fetch_add(1, Ordering::Relaxed);
        }
        let Some((kind, message)) = failure else {
            return;
        };
        self.failures[kind.index()].fetch_add(1, Ordering::Relaxed);
        let error = RecentError {
            at: SystemTime::now(),
            call,
            kind,
            message: crate::error::cut_message(message),
        };
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT_ERRORS {
            recent.pop_back();
        }
        recent.push_front(error);
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> HealthSnapshot {
        let by_call: Vec<CallStats> = CallKind::ALL
            .iter()
            .map(|call| CallStats {
                call: *call,
                durations: self.durations[call.index()].snapshot(),
            })
            .collect();
        let mut durations = Durations::default();
        for stats in &by_call {
            durations.merge(&stats.durations);
        }
        HealthSnapshot {
            calls: durations.count(),
            failures: FailureKind::ALL
                .iter()
                .map(|k| (*k, self.failures[k.index()].load(Ordering::Relaxed)))
                .collect(),
            denied_calls: self.denied_calls.load(Ordering::Relaxed),
            durations,
            by_call,
            recent_errors: self
                .recent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(health: &PluginHealth, n: usize) {
        health.record(
            CallKind::Render,
            Duration::from_millis(1),
            0,
            Some((FailureKind::Trap, format!("failure {n}"))),
        );
    }

    #[test]
    fn keeps_the_latest_errors_newest_first() {
        let health = PluginHealth::default();
        for n in 0..RECENT_ERRORS + 5 {
            fail(&health, n);
        }
        let snapshot = health.snapshot();
        assert_eq!(snapshot.recent_errors.len(), RECENT_ERRORS);
        let messages: Vec<&str> = snapshot
            .recent_errors
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages[0], format!("failure {}", RECENT_ERRORS + 4));
        assert_eq!(messages[RECENT_ERRORS - 1], "failure 5");
        assert_eq!(
            snapshot.last_failure().map(|e| e.message.as_str()),
            Some(messages[0])
        );
        assert_eq!(
            snapshot.failures_of(FailureKind::Trap),
            (RECENT_ERRORS + 5) as u64
        );
    }

    #[test]
    fn each_error_says_when_which_call_and_how() {
        let health = PluginHealth::default();
        let before = SystemTime::now();
        health.record(
            CallKind::Task,
            Duration::from_secs(2),
            0,
            Some((FailureKind::Deadline, "too slow".into())),
        );
        let error = health.snapshot().recent_errors[0].clone();
        assert_eq!(
            (error.call, error.kind, error.message.as_str()),
            (CallKind::Task, FailureKind::Deadline, "too slow")
        );
        assert!(error.at >= before);
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let health = PluginHealth::default();
        let long = "é".repeat(MAX_ERROR_MESSAGE_BYTES);
        health.record(
            CallKind::Handle,
            Duration::ZERO,
            0,
            Some((FailureKind::PluginError, long)),
        );
        let kept = &health.snapshot().recent_errors[0].message;
        assert!(kept.len() <= MAX_ERROR_MESSAGE_BYTES, "{}", kept.len());
        assert!(kept.ends_with("… [cut: 4096 bytes in all]"), "{kept}");
    }

    #[test]
    fn counts_calls_by_kind_and_calls_with_a_denial_whatever_their_outcome() {
        let health = PluginHealth::default();
        health.record(CallKind::Render, Duration::from_millis(2), 1, None);
        health.record(CallKind::Render, Duration::from_millis(4), 0, None);
        health.record(
            CallKind::Handle,
            Duration::from_millis(30),
            2,
            Some((FailureKind::Denied, "access denied".into())),
        );
        let snapshot = health.snapshot();
        assert_eq!(snapshot.calls, 3);
        assert_eq!(snapshot.denied_calls, 2);
        assert_eq!(snapshot.total_failures(), 1);
        assert_eq!(snapshot.failures_of(FailureKind::Denied), 1);
        let counts: Vec<(CallKind, u64)> = snapshot
            .by_call
            .iter()
            .map(|s| (s.call, s.durations.count()))
            .collect();
        assert_eq!(
            counts,
            [
                (CallKind::Render, 2),
                (CallKind::Action, 0),
                (CallKind::Handle, 1),
                (CallKind::Task, 0)
            ]
        );
        assert_eq!(snapshot.mean_duration(), Duration::from_micros(12_000));
        assert_eq!(
            snapshot.durations.max(),
            Some(Duration::from_millis(30)),
            "every kind is in the overall durations"
        );
    }

    #[test]
    fn a_fresh_plugin_has_no_calls_and_no_percentiles() {
        let snapshot = PluginHealth::default().snapshot();
        assert_eq!(snapshot.calls, 0);
        assert_eq!(snapshot.durations.percentile(0.99), None);
        assert_eq!(snapshot.mean_duration(), Duration::ZERO);
        assert!(snapshot.last_failure().is_none());
    }
}
