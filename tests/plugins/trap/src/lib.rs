//! Hostile test plugin: panics (a trap) on every render.
use greenroom_sdk::prelude::*;

struct Trap;

impl Plugin for Trap {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        panic!("boom: the trap plugin always panics")
    }
}

greenroom_sdk::export!(Trap);
