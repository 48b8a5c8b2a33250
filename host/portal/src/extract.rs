//! Small pieces of request parsing shared by pages, actions and the API.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use std::collections::HashMap;

/// `/…/{id}` or `/…/{id}/{*path}`: a plugin id and the path below it
/// (empty for the plugin's root).
pub(crate) struct PluginPath {
    pub id: String,
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PluginPath {
    type Rejection = <Path<HashMap<String, String>> as FromRequestParts<S>>::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<PluginPath, Self::Rejection> {
        let Path(mut params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        Ok(PluginPath {
            id: params.remove("id").unwrap_or_default(),
            path: params.remove("path").unwrap_or_default(),
        })
    }
}

/// A raw query string's `name=value` pairs, decoded, in order.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}
