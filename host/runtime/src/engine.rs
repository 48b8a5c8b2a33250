//! The engine, its epoch ticker, and loading plugins.

use crate::cache::{CacheOutcome, ComponentCache};
use crate::dispatch::{Linkers, VersionedPre};
use crate::error::{LoadError, RuntimeError};
use crate::health::PluginHealth;
use crate::limits::{Limits, MAX_MEMORY_BYTES, Slots};
use crate::plugin::LoadedPlugin;
use greenroom_broker::PluginEnv;
use greenroom_contract::Artifact;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. Every running plugin checks its deadline
/// and yields to the executor at each tick, so this bounds both how late a
/// deadline can fire and how long a plugin holds a worker thread. Spin
/// uses the same 10 ms; shorter ticks cost more interruptions for no
/// user-visible gain.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Core instances one component may create. A Rust `wasm32-wasip2`
/// component has its main module plus a few adapter shims; 20 leaves room
/// for components from other toolchains.
const CORE_INSTANCES_PER_COMPONENT: u32 = 20;

/// Linear memory kept resident per pooled slot between calls. A Rust
/// plugin's call touches a few hundred KiB (stack, heap, data); a slot
/// keeps at most this much memory committed while idle, so raising it costs
/// resident memory per warm slot.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// Table memory kept resident per pooled slot between calls.
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// The most plugin instances alive at once, across all plugins. Calls
    /// beyond it wait for a slot, and the wait counts against their
    /// deadline. The pooling allocator reserves address space (not memory)
    /// for this many instances up front.
    pub max_instances: u32,
    /// The most instances one plugin's calls may hold at once, so one busy
    /// or hostile plugin cannot starve the others; `None`: half of
    /// `max_instances` (see [`RuntimeConfig::plugin_share`]).
    pub max_instances_per_plugin: Option<u32>,
    /// The most instances scheduled task runs may hold at once, across
    /// plugins, so long tasks always leave slots for pages; `None`: half
    /// of `max_instances` (see [`RuntimeConfig::task_share`]).
    pub max_task_instances: Option<u32>,
}

impl Default for RuntimeConfig {
    fn default() -> RuntimeConfig {
        RuntimeConfig {
            cache_dir: None,
            max_instances: 256,
            max_instances_per_plugin: None,
            max_task_instances: None,
        }
    }
}

impl RuntimeConfig {
    /// The instances one plugin may hold: as configured, or half of
    /// `max_instances`; at least 1, at most `max_instances`.
    pub fn plugin_share(&self) -> u32 {
        share(self.max_instances_per_plugin, self.max_instances)
    }

    /// The instances task runs may hold together: as configured, or half
    /// of `max_instances`; at least 1, at most `max_instances`.
    pub fn task_share(&self) -> u32 {
        share(self.max_task_instances, self.max_instances)
    }
}

fn share(configured: Option<u32>, total: u32) -> u32 {
    configured.unwrap_or(total / 2).clamp(1, total.max(1))
}

/// The WebAssembly runtime: one engine, its linkers and its cache.
pub struct Runtime {
    engine: Engine,
    linkers: Arc<Linkers>,
    cache: ComponentCache,
    slots: Arc<Slots>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Sets up the engine. Uses the pooling allocator (fast, bounded
    /// instantiation) and falls back to on-demand allocation where the
    /// machine cannot reserve the address space, as Spin does.
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let engine = match Engine::new(&engine_config(Some(&config))) {
            Ok(engine) => engine,
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable; allocating instances on demand");
                Engine::new(&engine_config(None))
                    .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?
            }
        };
        let linkers = Linkers::new(&engine).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let cache = ComponentCache::new(&engine, config.cache_dir.clone())?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Runtime {
            engine,
            linkers: Arc::new(linkers),
            cache,
            slots: Arc::new(Slots::new(
                config.max_instances,
                config.task_share(),
                config.plugin_share(),
            )),
            _ticker: ticker,
        })
    }

    /// Compiles `artifact` into the cache, unless it is there already, and
    /// checks that it links against this host: what an install does
    /// before a server swaps the plugin in, so the swap is a cache hit.
    /// Returns whether it compiled. CPU-bound: call it off the executor.
    pub fn precompile(&self, artifact: &Artifact) -> Result<bool, LoadError> {
        let (component, outcome) =
            self.cache
                .component(&self.engine, &artifact.digest(), artifact.bytes())?;
        VersionedPre::new(&self.linkers, artifact.wit_version(), &component)?;
        Ok(outcome == CacheOutcome::Compiled)
    }

    /// Compiles (or loads from the cache) and pre-instantiates a plugin.
    /// This is CPU-bound work of up to a second: call it off the async
    /// executor. `env` may already be shared (a host showing the plugin
    /// while it compiles holds it too).
    pub fn load(
        &self,
        artifact: Artifact,
        env: impl Into<Arc<PluginEnv>>,
        limits: Limits,
    ) -> Result<LoadedPlugin, LoadError> {
        let started = std::time::Instant::now();
        let (component, outcome) =
            self.cache
                .component(&self.engine, &artifact.digest(), artifact.bytes())?;
        let pre = VersionedPre::new(&self.linkers, artifact.wit_version(), &component)?;
        tracing::info!(
            plugin = %artifact.manifest().id,
            version = %artifact.manifest().version,
            digest = %artifact.digest(),
            wit = %artifact.wit_version(),
            compiled = outcome == CacheOutcome::Compiled,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded plugin"
        );
        let own_slots = self.slots.plugin_share(artifact.manifest().id.as_str());
        Ok(LoadedPlugin {
            artifact,
            env: env.into(),
            limits,
            pre,
            engine: self.engine.clone(),
            own_slots,
            slots: self.slots.clone(),
            health: PluginHealth::default(),
            from_cache: outcome == CacheOutcome::Hit,
        })
    }
}

fn engine_config(pooling: Option<&RuntimeConfig>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Deadlines: every call sets one; see `EPOCH_TICK`.
    config.epoch_interruption(true);
    if let Some(runtime) = pooling {
        let instances = runtime.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances * CORE_INSTANCES_PER_COMPONENT)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .total_memories(instances * 2)
            .max_memories_per_component(2)
            .total_tables(instances * 4)
            .max_tables_per_component(4)
            .total_stacks(instances)
            .max_memory_size(MAX_MEMORY_BYTES)
            // Reset the pages a call dirtied with memset instead of handing
            // them back to the kernel: every call gets a fresh instance, and
            // madvise plus the page faults that refill memory were half the
            // cost of a small call (see docs/performance.md). PAGEMAP_SCAN
            // (Linux 6.7+) finds just the dirty pages; elsewhere wasmtime
            // resets the low addresses.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
            .pagemap_scan(Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a thread of its
/// own, for as long as the runtime lives. Without it no deadline would
/// ever fire.
struct EpochTicker {
    running: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine) -> EpochTicker {
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        std::thread::Builder::new()
            .name("greenroom-epoch".into())
            .spawn(move || {
                while flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("the OS can start the epoch thread");
        EpochTicker { running }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}
