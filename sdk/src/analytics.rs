//! Usage analytics. Recording needs no capability; reading the portal's
//! usage needs `analytics = { read = true }`.

use crate::Result;
use crate::bindings::greenroom::plugin::analytics as wit;

pub use wit::{Bucket, Dimension, UsageQuery, UsageRow};

/// Records an event such as `survey.answered`.
pub fn track(event: &str, attributes: &[(&str, &str)]) -> Result<()> {
    let attributes: Vec<(String, String)> = attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Ok(wit::track(event, &attributes)?)
}

/// Answers a usage question.
pub fn query(query: UsageQuery) -> Result<Vec<UsageRow>> {
    Ok(wit::query(&query)?)
}
