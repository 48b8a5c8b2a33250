//! Hostile test plugin: exports the contract's functions, but its
//! `greenroom:wit-version` section claims 9.0.0, a major version the host
//! does not serve. It bypasses the SDK's `export!` to write that section.
use greenroom_sdk::bindings::greenroom::plugin::types::{
    Context, Outcome, PluginError, Request, Response, Slot,
};
use greenroom_sdk::bindings::greenroom::plugin::view::View;

#[cfg_attr(target_arch = "wasm32", unsafe(link_section = "greenroom:wit-version"))]
#[used]
static WIT_VERSION: [u8; 5] = *b"9.0.0";

#[cfg_attr(target_arch = "wasm32", unsafe(link_section = "greenroom:manifest"))]
#[used]
static MANIFEST: [u8; include_bytes!("../greenroom.toml").len()] =
    *include_bytes!("../greenroom.toml");

struct WrongWit;

impl greenroom_sdk::bindings::Guest for WrongWit {
    fn render(_slot: Slot, _context: Context) -> Result<View, PluginError> {
        Err(PluginError::Failed("should never be called".into()))
    }

    fn action(
        _name: String,
        _fields: Vec<(String, String)>,
        _context: Context,
    ) -> Result<Outcome, PluginError> {
        Err(PluginError::Failed("should never be called".into()))
    }

    fn handle(_request: Request) -> Result<Response, PluginError> {
        Err(PluginError::Failed("should never be called".into()))
    }

    fn run_task(_name: String) -> Result<(), PluginError> {
        Err(PluginError::Failed("should never be called".into()))
    }
}

greenroom_sdk::bindings::__export_plugin_world!(WrongWit with_types_in greenroom_sdk::bindings);
