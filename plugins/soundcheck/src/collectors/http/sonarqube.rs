//! SonarQube (Web API; SonarCloud, the default, alike): the project's
//! quality gate and its main measures.
//!
//! For an entity annotated `sonarqube.org/project-key: <key>` (or
//! `<instance>/<key>`, collected only by the instance whose `instance`
//! setting is that name) it asks, under the base URL:
//!
//! 1. `GET /api/qualitygates/project_status?projectKey={key}`;
//! 2. `GET /api/measures/component?component={key}&metricKeys=coverage,bugs,vulnerabilities,code_smells,duplicated_lines_density,ncloc`.
//!
//! and keeps this fact (`sonarqube.coverage`, `sonarqube.quality_gate`):
//!
//! ```json
//! {
//!   "project": "acme_order-service",
//!   "url": "https://sonar.example.com/dashboard?id=acme_order-service",
//!   "quality_gate": "OK",
//!   "failed_conditions": [],
//!   "coverage": 81.2, "bugs": 1, "vulnerabilities": 0, "code_smells": 58,
//!   "duplicated_lines_density": 2.6, "ncloc": 26731
//! }
//! ```
//!
//! `quality_gate` is `OK`, `ERROR` or `NONE` (no gate); a measure the
//! project does not have (no coverage report) is left out, so a rule over
//! it finds no value.

use super::{CollectError, HostHttp, Instance, Upstream, json, unexpected};
use crate::config::CollectorConfig;
use greenroom_sdk::Entity;
use greenroom_sdk::http::Response;
use serde_json::{Map, Value, json};

/// SonarCloud, unless the instance names its own server.
pub const DEFAULT_BASE_URL: &str = "https://sonarcloud.io";

/// The annotation naming the project.
pub const ANNOTATION: &str = "sonarqube.org/project-key";

/// The measures asked for, each kept as a number under its own name.
const METRICS: [&str; 6] = [
    "coverage",
    "bugs",
    "vulnerabilities",
    "code_smells",
    "duplicated_lines_density",
    "ncloc",
];

/// The most requests one entity costs: the quality gate and the measures.
pub const REQUESTS_PER_ENTITY: u32 = 2;

/// Collects the SonarQube fact of an entity (a [`CollectFn`](crate::collectors::CollectFn)).
pub fn collect(config: &CollectorConfig, entity: &Entity) -> Result<Value, CollectError> {
    let instance = Instance::of(config, DEFAULT_BASE_URL)?;
    collect_with(&instance, &entity.annotations, &HostHttp)
}

/// [`collect`], for an entity with these annotations, through `upstream`.
pub fn collect_with(
    instance: &Instance,
    annotations: &[(String, String)],
    upstream: &dyn Upstream,
) -> Result<Value, CollectError> {
    let annotation = Instance::annotation(annotations, ANNOTATION)?;
    // Project keys have no `/`: one names the instance (Backstage's form).
    let key = match annotation.split_once('/') {
        None if instance.instance.is_none() => annotation,
        Some((name, key)) if instance.instance.as_deref() == Some(name) => key,
        _ => {
            return Err(CollectError::NotApplicable(format!(
                "`{ANNOTATION}: {annotation}` is for another SonarQube instance"
            )));
        }
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(CollectError::Upstream(format!(
            "`{ANNOTATION}: {annotation}` is not a project key"
        )));
    }

    let request = instance
        .get("/api/qualitygates/project_status")?
        .query(&[("projectKey", key)]);
    let response = instance.send(upstream, request)?;
    let gate = answer(&response, key, instance)?;
    let mut fact = gate_fact(&gate)?;

    let metrics = METRICS.join(",");
    let request = instance
        .get("/api/measures/component")?
        .query(&[("component", key), ("metricKeys", &metrics)]);
    let response = instance.send(upstream, request)?;
    let measures = answer(&response, key, instance)?;
    if let (Some(fact), Value::Object(measures)) = (fact.as_object_mut(), measures_fact(&measures))
    {
        fact.extend(measures);
    }
    fact["project"] = key.into();
    fact["url"] = format!("{}/dashboard?id={key}", instance.base_url).into();
    Ok(fact)
}

/// The JSON of a `200`, or what SonarQube's error says.
fn answer(response: &Response, key: &str, instance: &Instance) -> Result<Value, CollectError> {
    match response.status {
        200 => json(response, "SonarQube"),
        404 => Err(CollectError::Upstream(format!(
            "SonarQube answered 404 for project {key}{}: the project was never analysed, or the \
             token cannot see it",
            error_message(response)
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ))),
        _ => Err(unexpected(
            "SonarQube",
            &format!("project {key}"),
            response,
            instance,
        )),
    }
}

/// SonarQube's `{"errors":[{"msg":…}]}`.
fn error_message(response: &Response) -> Option<String> {
    let body: Value = serde_json::from_slice(&response.body).ok()?;
    body["errors"][0]["msg"].as_str().map(str::to_owned)
}

/// The quality gate (`api/qualitygates/project_status`).
pub fn gate_fact(gate: &Value) -> Result<Value, CollectError> {
    let status = &gate["projectStatus"];
    let quality_gate = status["status"].as_str().ok_or_else(|| {
        CollectError::Upstream(
            "SonarQube's quality gate answer has no `projectStatus.status`".into(),
        )
    })?;
    let failed: Vec<&str> = status["conditions"]
        .as_array()
        .map(|conditions| {
            conditions
                .iter()
                .filter(|c| c["status"] == "ERROR")
                .filter_map(|c| c["metricKey"].as_str())
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({ "quality_gate": quality_gate, "failed_conditions": failed }))
}

/// The measures (`api/measures/component`), as numbers by metric. Values
/// are strings in SonarQube's answer; ratings and levels that are not
/// numbers are left out.
pub fn measures_fact(measures: &Value) -> Value {
    let mut fact = Map::new();
    for measure in measures["component"]["measures"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (Some(metric), Some(value)) = (measure["metric"].as_str(), measure["value"].as_str())
        else {
            continue;
        };
        let number = if let Ok(whole) = value.parse::<i64>() {
            Value::from(whole)
        } else if let Ok(decimal) = value.parse::<f64>() {
            Value::from(decimal)
        } else {
            continue;
        };
        fact.insert(metric.to_owned(), number);
    }
    Value::Object(fact)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Recorded, annotations, instance, read};
    use super::*;
    use crate::config::CollectorKind;

    fn file(path: &str) -> Value {
        serde_json::from_slice(&read(path)).expect("JSON")
    }

    fn collect_key(instance: &Instance, key: &str) -> (Result<Value, CollectError>, Vec<String>) {
        let upstream = Recorded::default();
        let result = collect_with(
            instance,
            &annotations(&[("sonarqube.org/project-key", key)]),
            &upstream,
        );
        (result, upstream.paths())
    }

    #[test]
    fn reads_a_passing_and_a_failing_quality_gate() {
        let ok = gate_fact(&file(
            "sonarqube/api/qualitygates/project_status/acme_order-service.json",
        ))
        .expect("valid");
        assert_eq!(ok, json!({ "quality_gate": "OK", "failed_conditions": [] }));
        let failing = gate_fact(&file(
            "sonarqube/api/qualitygates/project_status/acme_returns-service.json",
        ))
        .expect("valid");
        assert_eq!(failing["quality_gate"], "ERROR");
        assert_eq!(
            failing["failed_conditions"],
            json!(["new_coverage", "new_violations"])
        );
    }

    #[test]
    fn reads_measures_as_numbers() {
        let fact = measures_fact(&file(
            "sonarqube/api/measures/component/acme_order-service.json",
        ));
        assert_eq!(fact["coverage"], 81.2);
        assert_eq!(fact["bugs"], 1);
        assert_eq!(fact["vulnerabilities"], 0);
        assert_eq!(fact["ncloc"], 26731);
        let unrated = measures_fact(&json!({ "component": { "measures": [
            { "metric": "alert_status", "value": "OK" },
            { "metric": "new_coverage", "period": { "value": "72.4" } }
        ] } }));
        assert_eq!(unrated, json!({}), "no number, or no value: left out");
    }

    #[test]
    fn collects_the_gate_and_the_measures_of_a_project() {
        let (result, paths) = collect_key(
            &instance(CollectorKind::Sonarqube, None),
            "acme_order-service",
        );
        let Ok(fact) = result else {
            panic!("{result:?}")
        };
        assert_eq!(
            paths,
            [
                "/sonarqube/api/qualitygates/project_status?projectKey=acme_order-service",
                "/sonarqube/api/measures/component?component=acme_order-service&metricKeys=coverage%2Cbugs%2Cvulnerabilities%2Ccode_smells%2Cduplicated_lines_density%2Cncloc",
            ]
        );
        assert_eq!(fact["quality_gate"], "OK");
        assert_eq!(fact["coverage"], 81.2);
        assert_eq!(fact["project"], "acme_order-service");
        assert_eq!(
            fact["url"],
            "http://127.0.0.1:4000/sonarqube/dashboard?id=acme_order-service"
        );
    }

    #[test]
    fn a_project_never_analysed_says_so() {
        let (result, _) = collect_key(
            &instance(CollectorKind::Sonarqube, None),
            "acme_payments-sdk-js",
        );
        assert_eq!(
            result,
            Err(CollectError::Upstream(
                "SonarQube answered 404 for project acme_payments-sdk-js (Project 'acme_payments-sdk-js' not found): the project was never analysed, or the token cannot see it".into()
            ))
        );
    }

    #[test]
    fn an_instance_prefix_picks_the_instance() {
        let mut named = instance(CollectorKind::Sonarqube, None);
        named.instance = Some("internal".into());
        let (result, _) = collect_key(&named, "internal/acme_order-service");
        assert!(result.is_ok(), "{result:?}");
        let (result, paths) = collect_key(&named, "cloud/acme_order-service");
        assert!(
            matches!(result, Err(CollectError::NotApplicable(_))),
            "{result:?}"
        );
        assert!(paths.is_empty());
        let (result, _) = collect_key(
            &instance(CollectorKind::Sonarqube, None),
            "internal/acme_order-service",
        );
        assert!(
            matches!(result, Err(CollectError::NotApplicable(_))),
            "{result:?}"
        );
    }
}
