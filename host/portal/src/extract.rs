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

/// A portal path a form may return to, or a plugin redirect to: local, and
/// not protocol-relative (`//evil.example.com`, which a browser reads as
/// another site).
pub(crate) fn local_path(path: &str) -> Option<&str> {
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(char::is_control);
    local.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_return_or_redirect_targets() {
        assert_eq!(local_path("/plugins/hello"), Some("/plugins/hello"));
        for bad in [
            "https://evil.example.com",
            "//evil.example.com",
            "/\\evil.example.com",
            "plugins",
            "/a\nb",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
