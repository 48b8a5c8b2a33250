//! Hostile test plugin: recurses until the call stack is exhausted.
use greenroom_sdk::prelude::*;
use std::hint::black_box;

struct Stack;

/// Never returns: the condition is opaque to the optimiser, and the work
/// after the call keeps it from becoming a loop.
fn deeper(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return depth;
    }
    black_box(deeper(depth + 1)).wrapping_add(1)
}

impl Plugin for Stack {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        Ok(text(format!("depth {}", deeper(0))).into())
    }
}

greenroom_sdk::export!(Stack);
