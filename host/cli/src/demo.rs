//! `--demo`, by convention: every bundled plugin runs, and each gets what
//! its own `demo/` folder asks for. The host names no plugin here.
//!
//! A plugin's `demo/demo.toml` (compiled into the binary with the rest of
//! the folder, see `greenroom_artifacts::Bundled::demo`) says:
//!
//! - `grant`: the grant of the `[[plugins]]` entry `--demo` adds (`["all"]`
//!   when left out; an entry the operator configured keeps its own);
//! - `[settings]` and `[settings-files]` (a setting whose value is the
//!   text of a file of the folder): defaults under the configuration's
//!   own values, merged key by key;
//! - `[limits]`: the same keys as `[plugins.limits]`, again under the
//!   configuration's;
//! - `[upstream]`: recorded responses of the services the plugin calls,
//!   which `serve --demo` answers on a loopback port of its own, so the
//!   pages are full without a network or tokens. Each plugin's services
//!   live under `/<crate>/`, `{upstream}` in a setting stands for
//!   `http://127.0.0.1:<port>/<crate>`, and the plugin is granted that
//!   origin as one an operator adds.
//!
//! The upstream is the world outside the portal: it runs on a thread and
//! an async runtime of its own, shares nothing with the portal (sign-in,
//! limits, pages), and serves only the compiled-in files, one per request:
//! `<service>/<path>.json` is a `200`, `<service>/<path>.404.json` a
//! recorded `404`, anything else the service's own generic not-found.

use crate::config::{LimitsConfig, PluginConfig};
use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use greenroom_artifacts::Bundled;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

/// The file of a plugin's `demo/` folder that says what `--demo` gives it.
pub const DEMO_FILE: &str = "demo.toml";

/// What stands for a plugin's recorded upstream in its demo settings.
const UPSTREAM_PLACEHOLDER: &str = "{upstream}";

/// A bundled plugin's `demo/demo.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DemoSpec {
    #[serde(default = "grant_all")]
    grant: Vec<String>,
    #[serde(default)]
    settings: Map<String, Value>,
    #[serde(default)]
    settings_files: BTreeMap<String, String>,
    #[serde(default)]
    limits: LimitsConfig,
    upstream: Option<UpstreamSpec>,
}

fn grant_all() -> Vec<String> {
    vec!["all".to_owned()]
}

/// `[upstream]`: where the recorded responses are and how each service
/// answers what it has no file for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct UpstreamSpec {
    /// A folder of `demo/`, one subfolder per service.
    folder: String,
    services: Vec<ServiceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ServiceSpec {
    /// The subfolder, and the first segment of its requests' paths.
    prefix: String,
    /// The body of the service's generic `404`.
    not_found: String,
    /// Endpoints that name the object in a query parameter: its value is
    /// the file's last segment.
    #[serde(default)]
    query_keys: Vec<QueryKey>,
    /// The body of the `400` the service answers when that parameter is
    /// missing; `{param}` stands for its name.
    missing_param: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryKey {
    path: String,
    param: String,
}

/// One bundled plugin's demo.
struct PluginDemo {
    bundled: &'static Bundled,
    spec: DemoSpec,
}

impl PluginDemo {
    /// Reads `bundled`'s `demo/demo.toml`, if it has one.
    fn read(bundled: &'static Bundled) -> anyhow::Result<Option<PluginDemo>> {
        let Some(text) = bundled.demo_file(DEMO_FILE) else {
            return Ok(None);
        };
        let file = format!("{}/demo/{DEMO_FILE}", bundled.source);
        let text = std::str::from_utf8(text).with_context(|| format!("{file} is not UTF-8"))?;
        let spec: DemoSpec = toml::from_str(text).with_context(|| format!("invalid {file}"))?;
        for (setting, path) in &spec.settings_files {
            if bundled.demo_file(path).is_none() {
                anyhow::bail!("{file}: setting `{setting}` names `{path}`, which is not in demo/");
            }
        }
        Ok(Some(PluginDemo { bundled, spec }))
    }

    /// Its settings: `[settings-files]` read, and `[settings]` with
    /// `{upstream}` replaced by `upstream`; without an upstream (commands
    /// other than `serve`), the settings that name it are left out.
    fn settings(&self, upstream: Option<&str>) -> anyhow::Result<Map<String, Value>> {
        let mut settings = Map::new();
        for (setting, path) in &self.spec.settings_files {
            let bytes = self.bundled.demo_file(path).unwrap_or_default();
            let text = String::from_utf8(bytes.to_vec())
                .with_context(|| format!("{}/demo/{path} is not UTF-8", self.bundled.source))?;
            settings.insert(setting.clone(), Value::String(text));
        }
        for (key, value) in &self.spec.settings {
            if let Some(value) = with_upstream(value, upstream) {
                settings.insert(key.clone(), value);
            }
        }
        Ok(settings)
    }
}

/// `value` with `{upstream}` replaced in every string; `None` if it names
/// the upstream and there is none (an object keeps its other keys).
fn with_upstream(value: &Value, upstream: Option<&str>) -> Option<Value> {
    match value {
        Value::String(text) if text.contains(UPSTREAM_PLACEHOLDER) => {
            upstream.map(|origin| Value::String(text.replace(UPSTREAM_PLACEHOLDER, origin)))
        }
        Value::Object(object) => Some(Value::Object(
            object
                .iter()
                .filter_map(|(k, v)| with_upstream(v, upstream).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => items
            .iter()
            .map(|v| with_upstream(v, upstream))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        other => Some(other.clone()),
    }
}

/// Puts every value of `defaults` into `target` where `target` has none,
/// descending into objects both have: the configuration wins key by key.
fn merge_under(target: &mut Map<String, Value>, defaults: Map<String, Value>) {
    for (key, value) in defaults {
        match (target.get_mut(&key), value) {
            (None, value) => {
                target.insert(key, value);
            }
            (Some(Value::Object(existing)), Value::Object(value)) => merge_under(existing, value),
            (Some(_), _) => {}
        }
    }
}

/// The demos of every bundled plugin that has one, read once: they are
/// compiled in. A bundled `demo.toml` that does not read is an error of
/// this build (a test reads them all).
fn demos() -> anyhow::Result<&'static [PluginDemo]> {
    static DEMOS: OnceLock<Result<Vec<PluginDemo>, String>> = OnceLock::new();
    DEMOS
        .get_or_init(|| {
            greenroom_artifacts::BUNDLED
                .iter()
                .filter_map(|bundled| PluginDemo::read(bundled).transpose())
                .collect::<anyhow::Result<_>>()
                .map_err(|error| format!("{error:#}"))
        })
        .as_deref()
        .map_err(|error| anyhow::anyhow!("{error}"))
}

/// Applies `--demo` to the configured plugins: adds every bundled plugin
/// not configured (with its demo's grant), and gives each bundled plugin's
/// entry its demo settings and limits under the configuration's own. With
/// an `upstream` (under `serve`), plugins with recorded responses are
/// pointed at it and granted its origin.
pub fn apply(
    plugins: &mut Vec<PluginConfig>,
    upstream: Option<&DemoUpstream>,
) -> anyhow::Result<()> {
    let demos = demos()?;
    for bundled in greenroom_artifacts::BUNDLED {
        if !plugins
            .iter()
            .any(|p| p.bundled.as_deref() == Some(bundled.crate_name))
        {
            let demo = demos
                .iter()
                .find(|d| d.bundled.crate_name == bundled.crate_name);
            plugins.push(PluginConfig {
                bundled: Some(bundled.crate_name.to_owned()),
                grant: demo.map_or_else(grant_all, |d| d.spec.grant.clone()),
                ..PluginConfig::default()
            });
        }
    }
    for demo in demos {
        let base = upstream
            .filter(|_| demo.spec.upstream.is_some())
            .map(|u| u.base(demo.bundled.crate_name));
        let settings = demo.settings(base.as_deref())?;
        for entry in plugins
            .iter_mut()
            .filter(|p| p.bundled.as_deref() == Some(demo.bundled.crate_name))
        {
            merge_under(&mut entry.settings, settings.clone());
            entry.limits = std::mem::take(&mut entry.limits).or(&demo.spec.limits);
            if let (Some(upstream), Some(_)) = (upstream, &demo.spec.upstream) {
                entry.grant.push(format!("http:{}", upstream.origin()));
            }
        }
    }
    Ok(())
}

/// The recorded responses of every bundled plugin that has some.
struct Recordings {
    plugins: HashMap<&'static str, (&'static Bundled, &'static UpstreamSpec)>,
}

/// The demo upstream's listener, bound before the configuration is made
/// so that the plugins' settings and grants can name its address.
pub struct DemoUpstream {
    listener: std::net::TcpListener,
    address: SocketAddr,
}

impl DemoUpstream {
    /// Binds a free loopback port (chosen by the system, so several demos
    /// run side by side), if a bundled plugin has recorded responses.
    pub fn bind() -> anyhow::Result<Option<DemoUpstream>> {
        if !demos()?.iter().any(|d| d.spec.upstream.is_some()) {
            return Ok(None);
        }
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("cannot listen on a loopback port for the demo upstream")?;
        let address = listener.local_addr()?;
        Ok(Some(DemoUpstream { listener, address }))
    }

    /// Its origin, as grants write it: `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Where plugin `crate_name`'s services are: `{upstream}` in its demo
    /// settings.
    fn base(&self, crate_name: &str) -> String {
        format!("{}/{crate_name}", self.origin())
    }

    /// Serves on a thread of its own until the process ends.
    pub fn serve_in_background(self) -> anyhow::Result<()> {
        let router = router()?;
        self.listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        tracing::info!(
            "demo upstream (the bundled plugins' recorded responses) on http://{}",
            self.address
        );
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let served = match tokio::net::TcpListener::from_std(self.listener) {
                    Ok(listener) => axum::serve(listener, router).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = served {
                    tracing::error!(%error, "the demo upstream stopped");
                }
            })
        });
        Ok(())
    }
}

/// Every plugin's recorded services, under `/<crate>/<service>/…`.
fn router() -> anyhow::Result<Router> {
    let plugins = demos()?
        .iter()
        .filter_map(|d| {
            let upstream = d.spec.upstream.as_ref()?;
            Some((d.bundled.crate_name, (d.bundled, upstream)))
        })
        .collect();
    Ok(Router::new()
        .route("/{plugin}/{service}/{*path}", get(recorded))
        .fallback(|| async { json(StatusCode::NOT_FOUND, UNKNOWN) })
        .with_state(Arc::new(Recordings { plugins })))
}

const UNKNOWN: &str =
    r#"{"error":"the demo upstream serves /<plugin>/<service>/… for bundled plugins' recordings"}"#;

/// The recorded answer to a request: its `200` file, its `404` file, or
/// the service's generic not-found. The files are compiled in and found by
/// exact name, so no path can name anything else.
async fn recorded(
    State(recordings): State<Arc<Recordings>>,
    Path((plugin, service, path)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((bundled, upstream)) = recordings.plugins.get(plugin.as_str()) else {
        return json(StatusCode::NOT_FOUND, UNKNOWN);
    };
    let Some(spec) = upstream.services.iter().find(|s| s.prefix == service) else {
        return json(StatusCode::NOT_FOUND, UNKNOWN);
    };
    let path = path.trim_end_matches('/');
    let mut file = format!("{}/{service}/{path}", upstream.folder);
    if let Some(key) = spec.query_keys.iter().find(|k| k.path == path) {
        match query.get(&key.param) {
            Some(value) => file = format!("{file}/{value}"),
            None => {
                let body = spec.missing_param.as_deref().unwrap_or(&spec.not_found);
                return json(StatusCode::BAD_REQUEST, body.replace("{param}", &key.param));
            }
        }
    }
    if let Some(body) = bundled.demo_file(&format!("{file}.json")) {
        return json(StatusCode::OK, body);
    }
    if let Some(body) = bundled.demo_file(&format!("{file}.404.json")) {
        return json(StatusCode::NOT_FOUND, body);
    }
    json(StatusCode::NOT_FOUND, spec.not_found.clone())
}

fn json(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    /// A bundled plugin with recorded responses, found by its demo rather
    /// than by name.
    fn recorded_plugin() -> &'static str {
        demos()
            .expect("demos read")
            .iter()
            .find(|d| d.spec.upstream.is_some())
            .expect("a bundled plugin has recorded responses")
            .bundled
            .crate_name
    }

    async fn get(uri: &str) -> (StatusCode, serde_json::Value) {
        let response = router()
            .expect("router")
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[test]
    fn every_bundled_demo_reads_and_its_settings_fit_the_plugins_schema() {
        let demos = demos().expect("every bundled demo/demo.toml reads");
        assert!(!demos.is_empty(), "the bundled plugins have demos");
        let upstream = DemoUpstream::bind()
            .expect("a loopback port")
            .expect("a plugin has recordings");
        let mut plugins = Vec::new();
        apply(&mut plugins, Some(&upstream)).expect("--demo applies");
        for entry in &plugins {
            let (label, prepared) =
                crate::plugins::check(entry, std::path::Path::new("."), Default::default());
            prepared.unwrap_or_else(|e| panic!("{label} under --demo: {e:#}"));
        }
    }

    #[tokio::test]
    async fn answers_with_the_recorded_responses_of_each_plugin() {
        let plugin = recorded_plugin();
        let (status, repo) = get(&format!("/{plugin}/github/repos/acme/order-service")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(repo["full_name"], "acme/order-service");
        let (status, runs) = get(&format!(
            "/{plugin}/github/repos/acme/order-service/actions/runs?branch=main&status=completed&per_page=1"
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(runs["workflow_runs"][0]["conclusion"], "success");
        let (status, gate) = get(&format!(
            "/{plugin}/sonarqube/api/qualitygates/project_status?projectKey=acme_order-service"
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(gate["projectStatus"]["status"], "OK");
    }

    #[tokio::test]
    async fn answers_recorded_not_founds_and_each_services_own_for_the_rest() {
        let plugin = recorded_plugin();
        let (status, body) = get(&format!(
            "/{plugin}/github/repos/acme/order-notifications/branches/main/protection"
        ))
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "Branch not protected");
        let (status, body) = get(&format!("/{plugin}/github/repos/acme/no-such-repo")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "Not Found");
        let (status, body) = get(&format!("/{plugin}/pagerduty/services/PS12Z65")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], 2100);
        let (status, body) = get(&format!(
            "/{plugin}/sonarqube/api/qualitygates/project_status"
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["errors"][0]["msg"],
            "The 'projectKey' parameter is missing"
        );
        // Nothing but the recordings: no other file of the folder, nothing
        // outside it, no other plugin.
        for path in [
            format!("/{plugin}/github/../../Cargo.toml"),
            format!("/{plugin}/github/../{DEMO_FILE}"),
            format!("/{plugin}/upstream/README.md"),
            "/hello/github/repos/acme/order-service".to_owned(),
        ] {
            let (status, _) = get(&path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn points_plugins_at_their_recordings_and_keeps_what_the_configuration_set() {
        let plugin = recorded_plugin();
        let upstream = DemoUpstream::bind()
            .expect("a loopback port")
            .expect("recordings");
        let origin = upstream.origin();
        let mut configured = PluginConfig {
            bundled: Some(plugin.into()),
            grant: vec!["catalog:read".into()],
            ..PluginConfig::default()
        };
        configured.limits.http_requests = Some(7);
        configured.settings.insert(
            "collectors".into(),
            serde_json::json!({ "github": { "base-url": "https://ghe.example.com/api/v3" } }),
        );
        let mut plugins = vec![configured];
        apply(&mut plugins, Some(&upstream)).expect("applies");

        let entry = &plugins[0];
        assert_eq!(
            entry.grant,
            ["catalog:read".to_owned(), format!("http:{origin}")],
            "the operator's grant is kept, and the upstream's origin added"
        );
        assert_eq!(entry.limits.http_requests, Some(7));
        let collectors = &entry.settings["collectors"];
        assert_eq!(
            collectors["github"]["base-url"],
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            collectors["sonarqube"]["base-url"],
            format!("{origin}/{plugin}/sonarqube").as_str()
        );
        // Every other bundled plugin is added once, and only plugins with
        // recordings are granted the upstream.
        assert_eq!(plugins.len(), greenroom_artifacts::BUNDLED.len());
        let hello = plugins
            .iter()
            .find(|p| p.bundled.as_deref() == Some("hello"))
            .expect("hello is added");
        assert_eq!(hello.grant, ["all"]);
    }

    #[test]
    fn without_an_upstream_settings_that_name_it_are_left_out() {
        let plugin = recorded_plugin();
        let mut plugins = Vec::new();
        apply(&mut plugins, None).expect("applies");
        let entry = plugins
            .iter()
            .find(|p| p.bundled.as_deref() == Some(plugin))
            .expect("added");
        assert!(
            !serde_json::to_string(&entry.settings)
                .expect("json")
                .contains(UPSTREAM_PLACEHOLDER)
        );
        assert!(!entry.grant.iter().any(|g| g.starts_with("http:")));
    }

    #[test]
    fn merging_keeps_configured_values_key_by_key() {
        let mut target = serde_json::json!({ "a": { "x": 1 }, "b": 2 });
        let defaults = serde_json::json!({ "a": { "x": 9, "y": 3 }, "b": 9, "c": 4 });
        let (Value::Object(target_map), Value::Object(defaults)) = (&mut target, defaults) else {
            unreachable!()
        };
        merge_under(target_map, defaults);
        assert_eq!(
            target,
            serde_json::json!({ "a": { "x": 1, "y": 3 }, "b": 2, "c": 4 })
        );
    }
}
