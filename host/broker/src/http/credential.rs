//! Credentials: secrets the operator binds to one origin, attached by the
//! host to a plugin's request when the plugin names them.
//!
//! A plugin never holds a token. It sends `greenroom-credential: <name>`;
//! the host removes that header and, if the credential is the plugin's,
//! is bound to the request's origin and the origin is granted, sets the
//! credential's header. The value lives only here: it is never logged,
//! never part of an error, and `Debug` does not print it.

use greenroom_contract::HttpOrigin;
use http::{HeaderName, HeaderValue};
use std::fmt;

/// The request header a plugin names a credential with. The host always
/// removes it: it never leaves the host.
pub const CREDENTIAL_HEADER: &str = "greenroom-credential";

/// A secret bound to one origin.
#[derive(Clone)]
pub struct Credential {
    name: String,
    origin: HttpOrigin,
    header: HeaderName,
    value: HeaderValue,
}

/// A credential the operator configured that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The name is not 1–64 lower-case letters, digits, dashes.
    #[error("`{0}` is not a credential name; use 1 to 64 lower-case letters, digits and dashes")]
    Name(String),
    /// The host is not an origin.
    #[error("credential `{name}`: {error}")]
    Host {
        /// The credential.
        name: String,
        /// What is wrong with its host.
        error: greenroom_contract::OriginError,
    },
    /// The header is not a header name, or one the host owns.
    #[error("credential `{name}`: `{header}` is not a header a credential can set")]
    Header {
        /// The credential.
        name: String,
        /// The header as written.
        header: String,
    },
    /// The value cannot be sent in a header. The value itself is never
    /// part of the message.
    #[error(
        "credential `{0}`: the value is empty or has characters a header cannot carry (control characters, line breaks)"
    )]
    Value(String),
}

impl Credential {
    /// A credential `name` that sets `header: value` on requests to `host`
    /// (an origin in the grants' short form, `api.github.com` or
    /// `http://10.0.0.5:8080`).
    pub fn new(
        name: &str,
        host: &str,
        header: &str,
        value: &str,
    ) -> Result<Credential, CredentialError> {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(CredentialError::Name(name.to_owned()));
        }
        let origin = HttpOrigin::parse(host).map_err(|error| CredentialError::Host {
            name: name.to_owned(),
            error,
        })?;
        let header_error = || CredentialError::Header {
            name: name.to_owned(),
            header: header.to_owned(),
        };
        let header = HeaderName::from_bytes(header.as_bytes()).map_err(|_| header_error())?;
        let owned_by_host = header == http::header::HOST
            || header.as_str() == CREDENTIAL_HEADER
            || wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(&header);
        if owned_by_host {
            return Err(header_error());
        }
        let mut value = HeaderValue::from_str(value)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| CredentialError::Value(name.to_owned()))?;
        value.set_sensitive(true);
        Ok(Credential {
            name: name.to_owned(),
            origin,
            header,
            value,
        })
    }

    /// Its name, as plugins ask for it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The one origin it is sent to.
    pub fn origin(&self) -> &HttpOrigin {
        &self.origin
    }

    /// The header it sets.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The header value, marked sensitive (so HTTP/2 never indexes it).
    pub(crate) fn value(&self) -> &HeaderValue {
        &self.value
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("origin", &self.origin.to_string())
            .field("header", &self.header)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let credential = Credential::new(
            "github",
            "api.github.com",
            "Authorization",
            "Bearer ghp_topsecret",
        )
        .expect("valid");
        let shown = format!("{credential:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(shown.contains("api.github.com"), "{shown}");
        assert!(credential.value().is_sensitive());
    }

    #[test]
    fn refuses_bad_names_hosts_headers_and_values_without_showing_the_value() {
        let cases = [
            ("GitHub", "api.github.com", "authorization", "x"),
            ("github", "https://api.github.com/v3", "authorization", "x"),
            ("github", "api.github.com", "host", "x"),
            ("github", "api.github.com", "greenroom-credential", "x"),
            ("github", "api.github.com", "proxy-authorization", "x"),
            ("github", "api.github.com", "bad header", "x"),
            (
                "github",
                "api.github.com",
                "authorization",
                "line\nbreak secret",
            ),
            ("github", "api.github.com", "authorization", ""),
        ];
        for (name, host, header, value) in cases {
            let err = Credential::new(name, host, header, value).unwrap_err();
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }
}
