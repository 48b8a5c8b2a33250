//! What one call's `Store` holds.

use crate::limits::CallLimiter;
use greenroom_broker::Session;
use std::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How much of a plugin's stderr is kept per call. Enough for a panic
/// message and a few lines before it; the rest is dropped.
const STDERR_BYTES: usize = 16 * 1024;

/// The data of one call's store: the WASI context (empty: no files, no
/// environment, no network), the broker session answering Greenroom
/// imports, and the call's limits.
pub(crate) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    pub(crate) session: Session,
    pub(crate) limiter: CallLimiter,
    pub(crate) deadline: Instant,
    pub(crate) stderr: MemoryOutputPipe,
}

impl PluginState {
    pub(crate) fn new(session: Session, memory_limit: usize, deadline: Instant) -> PluginState {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        // No preopened directories, no environment, no arguments, and the
        // default socket policy, which refuses every address: the standard
        // library's WASI imports link, but reach nothing.
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        PluginState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            session,
            limiter: CallLimiter::new(memory_limit),
            deadline,
            stderr,
        }
    }

    /// What the plugin said on stderr before it trapped: a Rust panic's
    /// location and message when it panicked, else its last line.
    pub(crate) fn stderr_summary(&self) -> Option<String> {
        let contents = self.stderr.contents();
        let text = String::from_utf8_lossy(&contents);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if let Some(start) = lines.iter().rposition(|l| l.contains(" panicked at ")) {
            let location = lines[start]
                .split_once(" panicked at ")
                .map_or("", |(_, at)| at);
            let message: Vec<&str> = lines[start + 1..]
                .iter()
                .copied()
                .take_while(|l| !l.starts_with("note: "))
                .collect();
            return Some(
                format!("panicked at {location} {}", message.join(" "))
                    .trim()
                    .to_owned(),
            );
        }
        lines
            .iter()
            .rev()
            .find(|l| !l.starts_with("note: "))
            .map(|l| (*l).to_owned())
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        // Outbound requests are decided by the broker session.
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.session,
        }
    }
}
