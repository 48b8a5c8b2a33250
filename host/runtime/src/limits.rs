//! The limits every plugin call runs under.

use bytesize::ByteSize;
use std::time::Duration;
use wasmtime::ResourceLimiter;

/// The most linear memory any plugin may be configured for. The pooling
/// allocator reserves address space for this much per slot, so raising it
/// costs virtual memory for every concurrent instance.
pub const MAX_MEMORY_BYTES: usize = 512 << 20;

/// Table elements one instance may grow to. Rust guests use one table for
/// indirect calls, sized at compile time; growth beyond this is a bug or an
/// attack.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Per-call limits for one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory per instance.
    pub memory: usize,
    /// Wall-clock deadline for `render`: it holds up a page, so it is short.
    pub render_deadline: Duration,
    /// Deadline for `action` and `handle`: a person or a script waits.
    pub request_deadline: Duration,
    /// Deadline for `run-task`: background work.
    pub task_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // A Rust plugin rendering a view needs 1–2 MiB; 64 MiB leaves
            // room for real work while 100 concurrent calls stay under 7 GiB.
            memory: 64 << 20,
            render_deadline: Duration::from_secs(2),
            request_deadline: Duration::from_secs(10),
            task_deadline: Duration::from_secs(120),
        }
    }
}

impl Limits {
    /// The memory limit, capped at what the engine can give an instance.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory.min(MAX_MEMORY_BYTES)
    }

    /// The memory limit for messages.
    pub fn memory_display(&self) -> String {
        ByteSize::b(self.memory_bytes() as u64)
            .display()
            .iec()
            .to_string()
    }
}

/// Enforces the memory limit of one call and remembers whether it refused
/// to grow, so a trap that follows is reported as "out of memory" rather
/// than as a crash.
#[derive(Debug)]
pub(crate) struct CallLimiter {
    memory_limit: usize,
    pub(crate) memory_exceeded: bool,
}

impl CallLimiter {
    pub(crate) fn new(memory_limit: usize) -> CallLimiter {
        CallLimiter {
            memory_limit,
            memory_exceeded: false,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
