//! Why the host will not call a plugin now.

/// The refusal [`crate::PluginHost::callable`] answers instead of a
/// callable plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No plugin with this id is loaded.
    NotLoaded(String),
    /// The server is still compiling it, just after it started; the
    /// plugin's name.
    Starting(String),
    /// An admin turned it off on this portal.
    Suspended {
        /// A short title for its card.
        title: &'static str,
        /// A sentence for the people using the portal.
        message: String,
    },
    /// It is premium, and no licence lets it run.
    Unlicensed {
        /// A short title for its card.
        title: &'static str,
        /// A sentence for the people using the portal.
        message: String,
    },
}

impl Refusal {
    /// A short title for the card drawn in place of the plugin's slot.
    pub fn title(&self) -> &'static str {
        match self {
            Refusal::NotLoaded(_) => "Not installed",
            Refusal::Starting(_) => "Starting",
            Refusal::Suspended { title, .. } | Refusal::Unlicensed { title, .. } => title,
        }
    }

    /// A sentence for the people using the portal.
    pub fn message(&self) -> String {
        match self {
            Refusal::NotLoaded(id) => format!("no plugin `{id}` is installed"),
            Refusal::Starting(name) => format!(
                "{name} is starting: the server is preparing it, which takes a few seconds after a \
                 restart or an upgrade; reload in a moment"
            ),
            Refusal::Suspended { message, .. } | Refusal::Unlicensed { message, .. } => {
                message.clone()
            }
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}
