//! Hello: the smallest useful Greenroom plugin.
//!
//! It draws a widget on the home page, a card on entity pages and a
//! guestbook page of its own; counts views in its private storage; takes
//! guestbook entries through a form; answers `GET /api/plugins/hello/views`;
//! and logs through the host. The plugin author guide
//! (`docs/plugin-author-guide.md`) builds it step by step.

use greenroom_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// The longest guestbook message kept.
const MAX_MESSAGE_CHARS: usize = 280;

/// Entries shown on the guestbook page, newest first.
const SHOWN_ENTRIES: u32 = 20;

#[derive(Serialize, Deserialize)]
struct Entry {
    author: String,
    message: String,
}

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
                    .child(link("Sign the guestbook", cx.link_to("")))
                    .into())
            }
            SlotKind::EntityCard => {
                let Some(entity) = &cx.entity else {
                    return Err(Error::invalid_input("an entity card needs an entity"));
                };
                let views = storage::increment(&format!("views/{}", entity.ref_), 1)?;
                let mut card = card(format!("{greeting} from {}", entity.name)).child(
                    properties()
                        .property("Owner", entity.owner.as_deref().unwrap_or("nobody yet"))
                        .property("Views", views.to_string()),
                );
                if let Some(owner) = &entity.owner {
                    card = card.child(owned_alongside(owner, &entity.ref_)?);
                }
                Ok(card.into())
            }
            SlotKind::Page => guestbook(&greeting, cx),
            SlotKind::EntityTab => Err(Error::unsupported("hello has no entity tab")),
        }
    }

    fn action(name: &str, form: &FormData, cx: &Context) -> Result<Outcome> {
        if name != "sign" {
            return Err(Error::unsupported(format!("hello has no action `{name}`")));
        }
        let message = match form.require("message") {
            Ok(message) => message,
            Err(invalid) => return Ok(invalid),
        };
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Ok(Outcome::invalid(
                "message",
                format!("Keep it under {MAX_MESSAGE_CHARS} characters."),
            ));
        }
        let number = storage::increment("guestbook/count", 1)?;
        // Keys sort newest first: a descending sequence number.
        let key = format!("guestbook/entry/{:012}", i64::MAX / 1_000_000 - number);
        storage::set_json(
            &key,
            &Entry {
                author: cx.user.display_name.clone(),
                message: message.to_owned(),
            },
        )?;
        log::info(&format!("guestbook entry {number} from {}", cx.user.ref_));
        Ok(Outcome::done("Thanks for signing the guestbook!"))
    }

    fn handle(request: &Request) -> Result<Response> {
        match (request.method, request.path.as_str()) {
            (Method::Get, "views") => {
                let home: i64 = storage::get_string("views/home")?
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok(Response::json(200, &serde_json::json!({ "home": home })))
            }
            _ => Ok(Response::json(
                404,
                &serde_json::json!({ "error": format!("no route {}", request.path) }),
            )),
        }
    }
}

/// What else `owner` owns, read through the brokered catalog: a plugin
/// sees only entities the acting user may see.
fn owned_alongside(owner: &str, this: &str) -> Result<El> {
    let mut query = catalog::Query::filter([("relations.ownedBy", owner)]);
    query.limit = 6;
    let page = catalog::query(query)?;
    let others: Vec<_> = page
        .items
        .iter()
        .filter(|e| e.ref_ != this)
        .take(5)
        .collect();
    if others.is_empty() {
        return Ok(text(format!("{owner} owns nothing else.")).into());
    }
    let mut list = bullet_list();
    for other in others {
        let href = format!(
            "/catalog/{}/{}/{}",
            other.namespace,
            other.kind.to_lowercase(),
            other.name
        );
        list = list.child(link(other.name.clone(), href));
    }
    Ok(column()
        .child(text(format!(
            "{owner} owns {} entities, including:",
            page.total
        )))
        .child(list))
}

fn guestbook(greeting: &str, cx: &Context) -> Result<View> {
    let keys = storage::list_keys("guestbook/entry/", None, SHOWN_ENTRIES)?;
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(entry) = storage::get_json::<Entry>(&key)? {
            entries.push(entry);
        }
    }
    let signed: El = if entries.is_empty() {
        empty("No entries yet", "Be the first to sign.")
    } else {
        entries.iter().fold(bullet_list(), |list, entry| {
            list.child(
                row()
                    .child(text(&entry.author).strong())
                    .child(text(&entry.message)),
            )
        })
    };
    Ok(column()
        .child(
            card("Sign the guestbook").child(
                form("sign", "Sign")
                    .child(
                        text(format!(
                            "{greeting}, {}! Leave a note for the next visitor.",
                            cx.user.display_name
                        ))
                        .muted(),
                    )
                    .field(
                        Field::textarea("message", "Message")
                            .required()
                            .help("Up to 280 characters."),
                    ),
            ),
        )
        .child(
            card("Guestbook")
                .subtitle(format!("The latest {SHOWN_ENTRIES} entries"))
                .child(signed),
        )
        .into())
}

greenroom_sdk::export!(Hello);
