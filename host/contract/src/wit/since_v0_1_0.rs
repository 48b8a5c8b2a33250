//! Host bindings for `greenroom:plugin@0.1.0` (`wit/since_v0.1.0/`).
//!
//! This is the newest version, so its types are the ones the rest of the
//! host uses (through [`super::latest`]). When 0.2.0 is released, its module
//! will point at these types with `with:` where they did not change, and
//! older modules will convert their world-level types into the latest ones.

use semver::Version;

/// The first version these bindings serve.
pub const MIN_VERSION: Version = Version::new(0, 1, 0);

wasmtime::component::bindgen!({
    path: "../../wit/since_v0.1.0",
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
