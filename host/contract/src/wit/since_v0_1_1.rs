//! Host bindings for `greenroom:plugin@0.1.1` (`wit/since_v0.1.1/`).
//!
//! This is the newest version, so its types are the ones the rest of the
//! host uses (through [`super::latest`]). It also serves plugins built
//! against 0.1.0: 0.1.1 only added an interface (`rbac-admin`), and
//! wasmtime links an import of `greenroom:plugin/catalog@0.1.0` to the
//! definition of `…@0.1.1` (semver-compatible: for `0.x` versions, the same
//! `x`), while the world's exports are unchanged. When a version changes
//! something incompatibly (0.2.0), it gets a module of its own next to this
//! one, pointing at these types with `with:` where they did not change.

wasmtime::component::bindgen!({
    path: "../../wit/since_v0.1.1",
    world: "greenroom:plugin/plugin",
    // Host imports are async because the broker awaits the store and the
    // network; exports are async so a call can be interrupted at epoch
    // ticks and yield to the executor instead of pinning a worker thread.
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq],
    with: {
        // Outbound HTTP is linked from wasmtime-wasi-http, not generated here.
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});
