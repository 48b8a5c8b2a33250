//! A running server's admin API, for `greenroom plugin … --server URL`.

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long one admin call may take (an install downloads, verifies and
/// waits for the server to load the plugin).
const TIMEOUT: Duration = Duration::from_secs(300);

/// A server's admin API and the token to present.
pub struct Remote {
    url: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Remote {
    /// The admin API of the server at `url`.
    pub fn new(url: &str, token: String) -> anyhow::Result<Remote> {
        let url = url.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--server takes a URL like http://127.0.0.1:7007, not `{url}`");
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context("cannot set up an HTTP client")?;
        Ok(Remote { url, token, client })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET path?query`.
    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> anyhow::Result<T> {
        self.send(self.client.get(self.address(path)).query(query))
    }

    /// `POST path` with a JSON body.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body).context("cannot encode the request")?;
        self.send(
            self.client
                .post(self.address(path))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
        )
    }

    /// `DELETE path?query`.
    pub fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> anyhow::Result<T> {
        self.send(self.client.delete(self.address(path)).query(query))
    }

    fn address(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends with the token; an error answer becomes its message.
    fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> anyhow::Result<T> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("cannot reach {}; is the server running?", self.url))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .with_context(|| format!("{} answered {status} but the body broke off", self.url))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} answered {status} without JSON", self.url))?;
        if !status.is_success() {
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            bail!("{message} ({} answered {status})", self.url);
        }
        serde_json::from_value(body).with_context(|| format!("unexpected answer from {}", self.url))
    }
}
