//! Per-plugin call counts, failures by kind, and time spent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a call failed, as the health page counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A trap (crash).
    Trap,
    /// Stopped at its deadline.
    Deadline,
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
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Trap,
        FailureKind::Deadline,
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
            FailureKind::Memory => "memory",
            FailureKind::Denied => "denied",
            FailureKind::PluginError => "plugin error",
            FailureKind::InvalidOutput => "invalid output",
            FailureKind::Host => "host",
        }
    }

    fn index(self) -> usize {
        FailureKind::ALL
            .iter()
            .position(|k| *k == self)
            .expect("every kind is in ALL")
    }
}

/// A plugin's health, updated by every call.
#[derive(Debug, Default)]
pub struct PluginHealth {
    calls: AtomicU64,
    failures: [AtomicU64; FailureKind::ALL.len()],
    busy_micros: AtomicU64,
    last_failure: Mutex<Option<String>>,
}

/// A point-in-time copy of a plugin's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Calls made.
    pub calls: u64,
    /// Failures by kind, in [`FailureKind::ALL`] order, with their counts.
    pub failures: Vec<(FailureKind, u64)>,
    /// Mean call duration.
    pub mean_duration: Duration,
    /// The last failure's message.
    pub last_failure: Option<String>,
}

impl HealthSnapshot {
    /// All failures, of every kind.
    pub fn total_failures(&self) -> u64 {
        self.failures.iter().map(|(_, n)| n).sum()
    }
}

impl PluginHealth {
    pub(crate) fn record(&self, elapsed: Duration, failure: Option<(FailureKind, String)>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.busy_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if let Some((kind, message)) = failure {
            self.failures[kind.index()].fetch_add(1, Ordering::Relaxed);
            *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
        }
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> HealthSnapshot {
        let calls = self.calls.load(Ordering::Relaxed);
        let busy = self.busy_micros.load(Ordering::Relaxed);
        HealthSnapshot {
            calls,
            failures: FailureKind::ALL
                .iter()
                .map(|k| (*k, self.failures[k.index()].load(Ordering::Relaxed)))
                .collect(),
            mean_duration: Duration::from_micros(busy.checked_div(calls).unwrap_or(0)),
            last_failure: self
                .last_failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}
