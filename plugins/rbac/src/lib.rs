//! RBAC: a no-code editor for the portal's roles and policies.
//!
//! One page, `/plugins/rbac`, with sub-pages for a role, a policy, the
//! draft's changes, the history, import/export and a decision tester
//! ([`pages::Route`]). Every edit changes the host's draft through the
//! `rbac-admin` interface and is checked by the host; publishing puts the
//! draft in force. The plugin keeps nothing of its own.
//!
//! Only users who hold `rbac.admin` can use it: the host refuses every
//! `rbac-admin` call for anyone else, and the page then says so instead of
//! drawing anything.

/// Ends an action early with its outcome: `step!(x)` is the value of an
/// `Ok`, or returns `Ok(outcome)` for an `Err(outcome)`.
macro_rules! step {
    ($step:expr) => {
        match $step {
            Ok(value) => value,
            Err(outcome) => return Ok(outcome),
        }
    };
}

pub mod conditions;
pub mod diff;
mod draft;
pub mod edits;
pub mod format;
mod pages;
pub mod permissions;

use greenroom_sdk::prelude::*;

struct Rbac;

impl Plugin for Rbac {
    fn render(slot: &Slot, cx: &Context) -> Result<View> {
        match slot.kind {
            SlotKind::Page => pages::render(cx),
            _ => Err(Error::unsupported(format!(
                "the RBAC plugin draws only its page, not `{}`",
                slot.name
            ))),
        }
    }

    fn action(name: &str, form: &FormData, cx: &Context) -> Result<Outcome> {
        pages::act(name, form, cx)
    }

    fn handle(request: &Request) -> Result<Response> {
        pages::api(request)
    }
}

greenroom_sdk::export!(Rbac);
