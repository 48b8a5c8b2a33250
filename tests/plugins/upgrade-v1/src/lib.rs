// Test plugin: says which version is serving, and whether it may read the
// catalog (version 2 asks to; an operator may not have granted it). Version
// 2 (tests/plugins/upgrade-v2) includes this file.
use greenroom_sdk::prelude::*;

struct Upgrade;

impl Plugin for Upgrade {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        let catalog = match catalog::get("component:default/nothing") {
            Ok(_) => "catalog: granted".to_owned(),
            Err(Error::Host(error)) if error.is_denied() => "catalog: denied".to_owned(),
            Err(error) => format!("catalog: failed, {error:?}"),
        };
        Ok(text(format!(
            "test-upgrade {} serving; {catalog}",
            env!("CARGO_PKG_VERSION")
        ))
        .into())
    }
}

greenroom_sdk::export!(Upgrade);
