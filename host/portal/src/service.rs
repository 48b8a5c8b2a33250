//! API tokens: how a service outside the portal (a CI job, a script, another
//! system) calls a plugin's JSON API without a person signed in.
//!
//! The operator issues a token for named plugins (`[[api-tokens]]` in the
//! configuration). A request to `/api/plugins/<id>/…` carrying
//! `Authorization: Bearer <token>` for a token that lists `<id>` is made by
//! that service: the plugin is called for no user (as a scheduled task is)
//! and sees the header `greenroom-caller: service:<name>`, which the host
//! sets itself and removes from every other request, so a plugin can trust
//! it. Only the tokens' SHA-256 digests are kept in memory.

use sha2::{Digest, Sha256};

/// The request header that tells a plugin which service called it.
pub const CALLER_HEADER: &str = "greenroom-caller";

/// A token a service presents, and the plugins whose APIs it may call.
#[derive(Clone)]
pub struct ApiToken {
    name: String,
    plugins: Vec<String>,
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

impl ApiToken {
    /// The token `value`, called `name`, for the plugin ids `plugins`.
    pub fn new(name: &str, plugins: Vec<String>, value: &str) -> ApiToken {
        ApiToken {
            name: name.to_owned(),
            plugins,
            digest: Sha256::digest(value.as_bytes()).into(),
        }
    }

    /// Its name, as plugins see it (`service:<name>`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What a bearer token presented to plugin `plugin`'s API turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented<'a> {
    /// No bearer token: a person's request (or nobody's).
    None,
    /// A token of this service, for this plugin.
    Service(&'a str),
    /// A token no service holds for this plugin.
    Invalid,
}

/// Which service presented `authorization` (the header's value) to the API
/// of `plugin`. Only a `Bearer` token to a plugin some token is issued for
/// is a service's: anything else (a browser's `Basic` credentials for a
/// proxy in front of the portal) is left to the session, as before. Digests
/// are compared in full, without stopping at the first difference.
pub(crate) fn presented<'a>(
    tokens: &'a [ApiToken],
    plugin: &str,
    authorization: Option<&str>,
) -> Presented<'a> {
    let issued: Vec<&ApiToken> = tokens
        .iter()
        .filter(|t| t.plugins.iter().any(|p| p == plugin))
        .collect();
    let bearer = authorization.and_then(|header| {
        header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
    });
    let (false, Some(token)) = (issued.is_empty(), bearer) else {
        return Presented::None;
    };
    let digest: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    let mut found = None;
    for candidate in issued {
        if constant_time_eq(&candidate.digest, &digest) && found.is_none() {
            found = Some(candidate.name.as_str());
        }
    }
    found.map_or(Presented::Invalid, Presented::Service)
}

/// Whether `a` and `b` are equal, compared without stopping at the first
/// difference (tokens and their digests).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<ApiToken> {
        vec![
            ApiToken::new("ci", vec!["soundcheck".into()], "s3cret"),
            ApiToken::new("other", vec!["hello".into()], "another"),
        ]
    }

    #[test]
    fn a_token_is_good_only_for_the_plugins_it_names() {
        let tokens = tokens();
        assert_eq!(
            presented(&tokens, "soundcheck", Some("Bearer s3cret")),
            Presented::Service("ci")
        );
        assert_eq!(
            presented(&tokens, "hello", Some("Bearer s3cret")),
            Presented::Invalid
        );
        // No token is issued for this plugin: the header is not ours.
        assert_eq!(
            presented(&tokens, "pulse", Some("Bearer s3cret")),
            Presented::None
        );
        assert_eq!(
            presented(&tokens, "soundcheck", Some("Bearer s3cret2")),
            Presented::Invalid
        );
        // A proxy's basic credentials are not a service's token.
        assert_eq!(
            presented(&tokens, "soundcheck", Some("Basic czNjcmV0")),
            Presented::None
        );
        assert_eq!(presented(&tokens, "soundcheck", None), Presented::None);
    }

    #[test]
    fn the_value_is_not_kept_or_shown() {
        let token = ApiToken::new("ci", vec![], "s3cret");
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
