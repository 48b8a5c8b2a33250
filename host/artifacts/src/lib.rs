//! The workspace's guest programs, compiled to WebAssembly components.
//!
//! `build.rs` compiles every crate under `examples/`, `plugins/` and
//! `tests/plugins/` for `wasm32-wasip2` (with the `guest` profile, into
//! `target/guests`) and generates this crate's contents, as wasmtime's
//! `test-programs-artifacts` does:
//!
//! - [`BUNDLED`]: the first-party plugins and examples, embedded in the
//!   binary so `greenroom serve --demo` needs no files beside it;
//! - one `<NAME>_COMPONENT` path constant per hostile test plugin, and the
//!   [`foreach_test_plugin!`] macro, so a test plugin that no test uses is a
//!   compile error (see `tests/e2e/main.rs`).
//!
//! It must never hold host logic: it is build output with a Rust face.

/// A plugin compiled into the `greenroom` binary.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The crate's name, e.g. `hello`.
    pub crate_name: &'static str,
    /// The crate's folder, relative to the repository root.
    pub source: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
    /// The files of its `demo/` folder — what `greenroom serve --demo`
    /// gives it (`demo.toml`) and the files that names — as (path relative
    /// to `demo/`, bytes), sorted by path; empty when it has none.
    pub demo: &'static [(&'static str, &'static [u8])],
}

impl Bundled {
    /// The file `path` (relative to `demo/`) of its demo folder.
    pub fn demo_file(&self, path: &str) -> Option<&'static [u8]> {
        self.demo
            .binary_search_by(|(p, _)| (*p).cmp(path))
            .ok()
            .map(|i| self.demo[i].1)
    }
}

include!(concat!(env!("OUT_DIR"), "/gen.rs"));

/// The bundled plugin built from the crate `crate_name`.
pub fn bundled(crate_name: &str) -> Option<&'static Bundled> {
    BUNDLED.iter().find(|b| b.crate_name == crate_name)
}
