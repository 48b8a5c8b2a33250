//! Test plugin: counts its calls in a static. If the host ever reused an
//! instance, a second call would see 2.
use greenroom_sdk::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

static CALLS: AtomicU64 = AtomicU64::new(0);

struct StaticState;

impl Plugin for StaticState {
    fn render(_slot: &Slot, cx: &Context) -> Result<View> {
        let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(text(format!(
            "calls seen by this instance: {calls}; user: {}",
            cx.user.ref_
        ))
        .into())
    }
}

greenroom_sdk::export!(StaticState);
