//! The limits every plugin call runs under.

use bytesize::ByteSize;
use greenroom_broker::HttpLimits;
use greenroom_contract::view::ViewLimits;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
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

/// The instance slots calls share, and the shares that keep one kind of
/// work from taking them all.
///
/// Every call holds a slot of the whole pool while its instance lives.
/// Scheduled task runs may hold at most `tasks` of them together, and the
/// calls of one plugin at most `per_plugin`, so long tasks or one busy
/// plugin always leave slots for everyone else's pages. 300 long tasks
/// once held every slot and another plugin's page waited 114 s.
#[derive(Debug)]
pub(crate) struct Slots {
    all: Semaphore,
    tasks: Semaphore,
    per_plugin: usize,
    /// Plugin id → its share; kept across upgrades, so a new build's calls
    /// and the old build's calls in flight count together.
    plugins: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// What a call holds while its instance lives; dropping it frees the
/// slot.
pub(crate) struct SlotPermit<'a> {
    _plugin: SemaphorePermit<'a>,
    _task: Option<SemaphorePermit<'a>>,
    _slot: SemaphorePermit<'a>,
}

impl Slots {
    /// `total` slots, at most `tasks` of them for task runs and
    /// `per_plugin` for one plugin (each at least 1 and at most `total`).
    pub(crate) fn new(total: u32, tasks: u32, per_plugin: u32) -> Slots {
        let total = total.max(1) as usize;
        let share = |n: u32| (n as usize).clamp(1, total);
        Slots {
            all: Semaphore::new(total),
            tasks: Semaphore::new(share(tasks)),
            per_plugin: share(per_plugin),
            plugins: Mutex::default(),
        }
    }

    /// The share of the plugin with this id.
    pub(crate) fn plugin_share(&self, id: &str) -> Arc<Semaphore> {
        let mut plugins = self.plugins.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            plugins
                .entry(id.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_plugin))),
        )
    }

    /// Waits for a slot for a call of the plugin whose share is `plugin`;
    /// a task run also takes one of the tasks' share. The caller bounds
    /// the wait with the call's deadline. `None` once the runtime is
    /// closing.
    pub(crate) async fn acquire<'a>(
        &'a self,
        plugin: &'a Semaphore,
        task: bool,
    ) -> Option<SlotPermit<'a>> {
        // Shares first, so a call waiting for one holds no slot of the
        // pool meanwhile; the tasks' share before the plugin's, so queued
        // task runs do not hold the plugin's share its pages need.
        let task = match task {
            true => Some(self.tasks.acquire().await.ok()?),
            false => None,
        };
        let plugin = plugin.acquire().await.ok()?;
        let slot = self.all.acquire().await.ok()?;
        Some(SlotPermit {
            _plugin: plugin,
            _task: task,
            _slot: slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[tokio::test]
    async fn tasks_and_one_plugin_each_leave_slots_for_others() {
        let slots = Slots::new(4, 2, 3);
        let busy = slots.plugin_share("busy");
        let tasks: Vec<_> = futures::future::join_all((0..2).map(|_| slots.acquire(&busy, true)))
            .await
            .into_iter()
            .map(|p| p.expect("open"))
            .collect();
        // A third task of the plugin waits for the tasks' share…
        assert!(
            slots.acquire(&busy, true).now_or_never().is_none(),
            "tasks hold at most their share"
        );
        // …but a render of the same plugin still gets a slot, and then the
        // plugin has used its share.
        let render = slots.acquire(&busy, false).await.expect("open");
        assert!(
            slots.acquire(&busy, false).now_or_never().is_none(),
            "one plugin holds at most its share"
        );
        // Another plugin's page is drawn all the same.
        let other = slots.plugin_share("other");
        assert!(slots.acquire(&other, false).await.is_some());
        drop((tasks, render));
    }

    #[test]
    fn shares_are_at_least_one_and_at_most_the_pool() {
        let slots = Slots::new(2, 0, 99);
        assert_eq!(slots.tasks.available_permits(), 1);
        assert_eq!(slots.per_plugin, 2);
        assert!(Arc::ptr_eq(
            &slots.plugin_share("a"),
            &slots.plugin_share("a")
        ));
    }
}
