//! The four entry points the host calls, and the types they take.

use crate::bindings::greenroom::plugin::types;
use crate::{Error, Result, View};
use core::marker::PhantomData;

pub use types::{
    Context, Entity, FieldError, Method, Outcome, Request, Response, Slot, SlotKind, User,
};

/// A Greenroom plugin: what the host calls.
///
/// Only [`Plugin::render`] is required; the others answer "unsupported"
/// until implemented. Every call runs on a fresh instance, so there is no
/// `self`: keep state in [`crate::storage`].
pub trait Plugin {
    /// Draws the plugin's view for one slot declared in the manifest.
    ///
    /// ```no_run
    /// # use greenroom_sdk::prelude::*;
    /// # struct P;
    /// # impl Plugin for P {
    /// fn render(slot: &Slot, cx: &Context) -> Result<View> {
    ///     match slot.kind {
    ///         SlotKind::HomeWidget => Ok(card("Welcome").child(text(&cx.user.display_name)).into()),
    ///         _ => Err(Error::unsupported(format!("slot {}", slot.name))),
    ///     }
    /// }
    /// # }
    /// ```
    fn render(slot: &Slot, cx: &Context) -> Result<View>;

    /// Handles a submitted form: `name` is the form's action.
    fn action(name: &str, form: &FormData, cx: &Context) -> Result<Outcome> {
        let _ = (form, cx);
        Err(Error::unsupported(format!(
            "this plugin has no action `{name}`"
        )))
    }

    /// Answers a request to `/api/plugins/<id>/…`.
    fn handle(request: &Request) -> Result<Response> {
        Ok(Response::json(
            404,
            &serde_json::json!({ "error": format!("no route for {}", request.path) }),
        ))
    }

    /// Runs a scheduled task declared in the manifest.
    fn run_task(name: &str) -> Result<()> {
        Err(Error::unsupported(format!(
            "this plugin has no task `{name}`"
        )))
    }
}

/// The submitted values of a form, in order.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    fields: Vec<(String, String)>,
}

impl FormData {
    /// Wraps submitted fields.
    pub fn new(fields: Vec<(String, String)>) -> FormData {
        FormData { fields }
    }

    /// The first value submitted under `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value submitted under `name` (checkboxes, multi-selects).
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value under `name`, trimmed, or an `invalid` outcome naming the
    /// field when it is missing or blank.
    pub fn require(&self, name: &str) -> core::result::Result<&str, Outcome> {
        match self.get(name).map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(Outcome::invalid(name, "This field is required.")),
        }
    }

    /// All fields, in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

impl Context {
    /// The first query parameter called `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A link to a sub-page of the plugin's page, e.g. `cx.link_to("runs/42")`;
    /// `cx.link_to("")` is the page itself.
    pub fn link_to(&self, path: &str) -> String {
        let base = self.base_path.trim_end_matches('/');
        match path.trim_start_matches('/') {
            "" => base.to_owned(),
            path => format!("{base}/{path}"),
        }
    }
}

impl Request {
    /// The first query parameter called `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::invalid_input(format!("request body: {e}")))
    }
}

impl Response {
    /// A JSON response.
    pub fn json<T: serde::Serialize + ?Sized>(status: u16, body: &T) -> Response {
        let body = serde_json::to_vec(body)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    /// A plain-text response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }
}

impl Outcome {
    /// Success, with a notice for the user.
    pub fn done(message: impl Into<String>) -> Outcome {
        Outcome::Done(Some(message.into()))
    }

    /// Refused: show the form again with `message` next to `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Outcome {
        Outcome::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

/// Adapts a [`Plugin`] to the generated bindings; used by [`crate::export!`].
#[doc(hidden)]
pub struct Export<P>(PhantomData<P>);

impl<P: Plugin> crate::bindings::Guest for Export<P> {
    fn render(
        slot: Slot,
        context: Context,
    ) -> Result<crate::bindings::greenroom::plugin::view::View> {
        P::render(&slot, &context)
    }

    fn action(name: String, fields: Vec<(String, String)>, context: Context) -> Result<Outcome> {
        P::action(&name, &FormData::new(fields), &context)
    }

    fn handle(request: Request) -> Result<Response> {
        P::handle(&request)
    }

    fn run_task(name: String) -> Result<()> {
        P::run_task(&name)
    }
}
