//! The acting person.

use serde::Serialize;

/// A person on whose behalf the portal and its plugins act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The user's catalog entity reference, e.g. `user:default/jane.doe`.
    pub entity_ref: String,
    /// The name to show.
    pub display_name: String,
    /// E-mail address, when known.
    pub email: Option<String>,
    /// Entity references of the user's groups, transitively.
    pub groups: Vec<String>,
    /// True only for the demo guest.
    pub guest: bool,
}

impl Identity {
    /// The demo guest: who you are in a portal with guest access switched
    /// on (`--demo`, or `[auth] guest = true`). The portal shows a banner
    /// whenever it is in use.
    pub fn guest() -> Identity {
        Identity {
            entity_ref: "user:default/guest".to_owned(),
            display_name: "Guest".to_owned(),
            email: None,
            groups: Vec::new(),
            guest: true,
        }
    }

    /// The references that make something this person's: their own and
    /// their groups' (Backstage's `ownershipEntityRefs`). An entity whose
    /// `spec.owner` is any of them is owned by them.
    pub fn ownership_refs(&self) -> Vec<String> {
        std::iter::once(&self.entity_ref)
            .chain(&self.groups)
            .cloned()
            .collect()
    }
}
