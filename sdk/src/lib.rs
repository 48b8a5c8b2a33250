//! Build plugins for Greenroom, the developer portal whose plugins are
//! sandboxed WebAssembly components.
//!
//! A plugin is a Rust library compiled to a `wasm32-wasip2` component. It
//! depends on this crate alone, describes itself in a `greenroom.toml`
//! manifest next to its `Cargo.toml`, implements [`Plugin`] and calls
//! [`export!`]. The host calls it on a fresh instance for every request, so
//! anything worth keeping goes to [`storage`].
//!
//! ```no_run
//! use greenroom_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn render(_slot: &Slot, cx: &Context) -> Result<View> {
//!         let views = storage::increment("views", 1)?;
//!         Ok(card("Hello")
//!             .child(text(format!("Hello, {}!", cx.user.display_name)))
//!             .child(stat("Views", views))
//!             .into())
//!     }
//! }
//! ```
//!
//! and, at the crate's top level, hands it to the host (this line reads
//! `greenroom.toml`, so it only compiles in a plugin crate):
//!
//! ```ignore
//! greenroom_sdk::export!(Hello);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the
//! component is `target/wasm32-wasip2/release/<crate>.wasm`, manifest
//! included.
//!
//! # What is here
//! - [`Plugin`] and [`export!`]: what the host calls and how to hand it over;
//! - [`view`]: builders for the views a plugin renders;
//! - [`storage`], [`identity`], [`settings`], [`catalog`], [`log`],
//!   [`analytics`], [`rbac`]: the host's imports, with the capability each
//!   needs;
//! - [`http`]: outbound requests through the host, to origins the plugin
//!   was granted, naming credentials it never sees;
//! - [`Error`] and [`Result`]: how calls fail. Host errors convert into
//!   plugin errors, so `?` works across them.
//!
//! The WIT contract this crate is built on is `greenroom:plugin@0.1.1`
//! (plugins it builds need a host that serves 0.1.1 or newer in the 0.1
//! line);
//! [`bindings`] holds the raw generated bindings for anything the helpers do
//! not cover (such as streaming `wasi:http` bodies).

#![warn(missing_docs)]

/// Raw bindings generated from the WIT contract by `wit-bindgen`.
///
/// Prefer the helpers in this crate; use these for what they do not cover,
/// such as streaming HTTP bodies through `bindings::wasi::http`.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        world: "greenroom:plugin/plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "greenroom_sdk::bindings",
        generate_all,
    });
}

pub mod analytics;
pub mod catalog;
mod error;
pub mod http;
pub mod identity;
pub mod log;
mod plugin;
pub mod rbac;
pub mod settings;
pub mod storage;
pub mod view;

pub use error::{Error, HostError, Result};
pub use plugin::{
    Context, Entity, FieldError, FormData, Method, Outcome, Plugin, Request, Response, Slot,
    SlotKind, User,
};
pub use view::View;

/// The version of the WIT contract this SDK builds plugins against.
pub const WIT_VERSION: &str = "0.1.1";

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::view::*;
    pub use crate::{
        Context, Entity, Error, FormData, Method, Outcome, Plugin, Request, Response, Result, Slot,
        SlotKind, User, View, catalog, identity, log, settings, storage,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::plugin::Export;

    /// [`crate::WIT_VERSION`] as bytes, for the custom section.
    pub const WIT_VERSION_BYTES: [u8; crate::WIT_VERSION.len()] = {
        let text = crate::WIT_VERSION.as_bytes();
        let mut out = [0u8; crate::WIT_VERSION.len()];
        let mut i = 0;
        while i < out.len() {
            out[i] = text[i];
            i += 1;
        }
        out
    };
}

/// Exports a [`Plugin`] implementation as the component's entry points and
/// embeds the plugin's manifest.
///
/// The manifest is read from `greenroom.toml` in the crate's root (next to
/// `Cargo.toml`) at compile time and stored, with the WIT version, in custom
/// sections of the component, where the host reads them without running the
/// plugin. Call it once, at the crate's top level:
///
/// ```ignore
/// struct MyPlugin;
/// impl greenroom_sdk::Plugin for MyPlugin { /* … */ }
/// greenroom_sdk::export!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        const _: () = {
            const __GREENROOM_MANIFEST_TOML: &[u8] =
                include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/greenroom.toml"));

            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "greenroom:manifest"))]
            #[used]
            static __GREENROOM_MANIFEST: [u8; __GREENROOM_MANIFEST_TOML.len()] = {
                let mut out = [0u8; __GREENROOM_MANIFEST_TOML.len()];
                let mut i = 0;
                while i < out.len() {
                    out[i] = __GREENROOM_MANIFEST_TOML[i];
                    i += 1;
                }
                out
            };

            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "greenroom:wit-version"))]
            #[used]
            static __GREENROOM_WIT_VERSION: [u8; $crate::WIT_VERSION.len()] =
                $crate::__private::WIT_VERSION_BYTES;
        };

        type __GreenroomExport = $crate::__private::Export<$plugin>;
        $crate::bindings::__export_plugin_world!(__GreenroomExport with_types_in $crate::bindings);
    };
}
