//! `greenroom:plugin/analytics`: usage events. Recording and reading are
//! not backed by this host yet: `track` answers `unavailable`, and `query`
//! is checked against `analytics:read` first.

use crate::session::{Access, Session};
use greenroom_contract::wit::latest::greenroom::plugin::analytics::{Host, UsageQuery, UsageRow};
use greenroom_contract::wit::latest::greenroom::plugin::types::HostError;

/// Attributes one event may carry; more is a plugin logging, not counting.
const MAX_EVENT_ATTRIBUTES: usize = 16;

fn unavailable() -> HostError {
    HostError::Unavailable("this Greenroom host does not collect analytics yet".into())
}

impl Host for Session {
    async fn track(
        &mut self,
        event: String,
        attributes: Vec<(String, String)>,
    ) -> Result<(), HostError> {
        if event.trim().is_empty() {
            return Err(HostError::InvalidArgument(
                "event name must not be empty".into(),
            ));
        }
        if attributes.len() > MAX_EVENT_ATTRIBUTES {
            return Err(HostError::InvalidArgument(format!(
                "an event has at most {MAX_EVENT_ATTRIBUTES} attributes; this one has {}",
                attributes.len()
            )));
        }
        Err(unavailable())
    }

    async fn query(&mut self, _query: UsageQuery) -> Result<Vec<UsageRow>, HostError> {
        self.decide(Access::AnalyticsRead)?;
        Err(unavailable())
    }
}
