//! How the portal shows a plugin the host will not call
//! ([`greenroom_lifecycle::Refusal`]): a card in place of its slot, or the
//! error for a request it would have answered.

use crate::error::ErrorKind;
use greenroom_lifecycle::Refusal;
use maud::Markup;

/// The card drawn in place of a refused plugin's slot.
pub(crate) fn card(refusal: &Refusal) -> Markup {
    crate::render::refusal_card(refusal.title(), &refusal.message())
}

/// The error for a request the plugin would have answered; `context`
/// says what was refused, e.g. "plugin `hello`". A plugin that is not
/// loaded is a 404, a suspended or still starting one a 503, an
/// unlicensed one a 402.
pub(crate) fn error(refusal: &Refusal, context: &str) -> ErrorKind {
    match refusal {
        Refusal::NotLoaded(_) => ErrorKind::NotFound(refusal.message()),
        Refusal::Suspended { message, .. } => ErrorKind::Disabled(format!("{context}: {message}")),
        Refusal::Starting(_) => ErrorKind::Starting(format!("{context}: {}", refusal.message())),
        Refusal::Unlicensed { message, .. } => {
            ErrorKind::Unlicensed(format!("{context}: {message}"))
        }
    }
}
