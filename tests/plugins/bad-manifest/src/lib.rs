//! Hostile test plugin: a manifest whose `tier` is not a tier.
use greenroom_sdk::prelude::*;

struct BadManifest;

impl Plugin for BadManifest {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        Ok(text("should never be drawn").into())
    }
}

greenroom_sdk::export!(BadManifest);
