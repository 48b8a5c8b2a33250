//! Test plugin: a premium plugin. It counts the notes posted to it in its
//! storage and reports the count in its views and its API, so tests can
//! check that it runs only with a licence and that a lapse loses nothing.
use greenroom_sdk::prelude::*;

struct Premium;

fn notes() -> Result<i64> {
    Ok(storage::get_string("notes")?
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

impl Plugin for Premium {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        Ok(card("Test: premium")
            .child(text(format!("premium notes: {}", notes()?)))
            .child(form("note", "Add a note"))
            .into())
    }

    fn action(_name: &str, _form: &FormData, _cx: &Context) -> Result<Outcome> {
        let count = storage::increment("notes", 1)?;
        Ok(Outcome::done(format!("note {count} kept")))
    }

    /// `GET` answers the count; `POST` adds a note first.
    fn handle(request: &Request) -> Result<Response> {
        let notes = match request.method {
            Method::Post => storage::increment("notes", 1)?,
            _ => notes()?,
        };
        Ok(Response::json(200, &serde_json::json!({ "notes": notes })))
    }
}

greenroom_sdk::export!(Premium);
