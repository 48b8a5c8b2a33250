//! Hostile test plugin: returns a view past the portal's limits (more
//! nodes than it draws), to be refused whole.
use greenroom_sdk::prelude::*;

struct BigView;

impl Plugin for BigView {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        Ok(column()
            .children((0..6000).map(|i| text(format!("row {i}"))))
            .into())
    }
}

greenroom_sdk::export!(BigView);
