//! Hostile test plugin: never returns from render.
use greenroom_sdk::prelude::*;

struct Spin;

impl Plugin for Spin {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        let mut turns: u64 = 0;
        loop {
            turns = std::hint::black_box(turns.wrapping_add(1));
        }
    }
}

greenroom_sdk::export!(Spin);
