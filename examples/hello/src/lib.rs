//! Hello: the smallest useful Greenroom plugin.
//!
//! It draws a widget on the home page and a card on entity pages, counts
//! how often each was seen in its private storage, and logs through the
//! host. The plugin author guide (`docs/plugin-author-guide.md`) builds it
//! step by step.

use greenroom_sdk::prelude::*;

struct Hello;

impl Plugin for Hello {
    fn render(slot: &Slot, cx: &Context) -> Result<View> {
        let greeting: String = settings::get("greeting")?.unwrap_or_else(|| "Hello".to_owned());
        match slot.kind {
            SlotKind::HomeWidget => {
                let views = storage::increment("views/home", 1)?;
                log::info(&format!("home widget seen {views} times"));
                Ok(card("Hello")
                    .child(text(format!("{greeting}, {}!", cx.user.display_name)).strong())
                    .child(stat("Views of this widget", views))
                    .into())
            }
            SlotKind::EntityCard => {
                let Some(entity) = &cx.entity else {
                    return Err(Error::invalid_input("an entity card needs an entity"));
                };
                let views = storage::increment(&format!("views/{}", entity.ref_), 1)?;
                let owner = entity.owner.clone().unwrap_or_else(|| "nobody yet".to_owned());
                Ok(card(format!("{greeting} from {}", entity.name))
                    .child(properties().property("Owner", owner).property("Views", views.to_string()))
                    .into())
            }
            _ => Err(Error::unsupported(format!("hello has no {:?} slot", slot.kind))),
        }
    }
}

greenroom_sdk::export!(Hello);
