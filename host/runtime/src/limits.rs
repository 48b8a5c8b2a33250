//! The limits every plugin call runs under.

use bytesize::ByteSize;
use greenroom_broker::HttpLimits;
use greenroom_contract::view::ViewLimits;
use std::time::Duration;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

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
    /// Outbound HTTP: requests per call, response size, time per request.
    pub http: HttpLimits,
    /// How large a view `render` may return: the contract's maxima, or
    /// less.
    pub view: ViewLimits,
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
            http: HttpLimits::default(),
            view: ViewLimits::default(),
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

/// Instances, memories and tables one call may create. A Rust component
/// needs a handful of each; the caps stop a component built to exhaust the
/// pool from doing so in one call.
const MAX_INSTANCES: usize = 32;
const MAX_MEMORIES: usize = 4;
const MAX_TABLES: usize = 8;

/// Enforces one call's limits — wasmtime's `StoreLimits` for memory, table,
/// instance and memory counts — and remembers whether it refused to grow
/// memory, so a trap that follows is reported as "out of memory" rather
/// than as a crash.
pub(crate) struct CallLimiter {
    limits: StoreLimits,
    pub(crate) memory_exceeded: bool,
}

impl CallLimiter {
    pub(crate) fn new(memory_limit: usize) -> CallLimiter {
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_limit)
            .table_elements(MAX_TABLE_ELEMENTS)
            .instances(MAX_INSTANCES)
            .memories(MAX_MEMORIES)
            .tables(MAX_TABLES)
            .build();
        CallLimiter {
            limits,
            memory_exceeded: false,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.memory_exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }
}
