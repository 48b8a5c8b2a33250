//! The catalog as the binary sets it up, and `greenroom catalog …`.

use crate::config::{CatalogSettings, Config};
use anyhow::{Context as _, bail};
use greenroom_catalog::{
    Catalog, CatalogRule, CatalogRules, CatalogStore, LocationMatcher, LocationType, ReadingAllow,
    UrlReading,
};
use greenroom_store::Database;
use include_dir::{Dir, include_dir};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The demo organisation (`demo/catalog/`), compiled into the binary so
/// `--demo` works from any folder.
static DEMO_CATALOG: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../demo/catalog");

/// `[catalog] rules[]`: Backstage's `catalog.rules[]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The kinds allowed (`["Component", "API", "Location"]`).
    pub allow: Vec<String>,
    /// The locations the rule is for; every location when absent.
    #[serde(default)]
    pub locations: Option<Vec<RuleLocationConfig>>,
}

/// A location a rule is for: by type, and by exact target or glob.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleLocationConfig {
    /// `file` or `url`.
    #[serde(rename = "type")]
    pub kind: LocationType,
    /// The target exactly (a file path is matched as registered: absolute).
    pub target: Option<String>,
    /// A glob over the target.
    pub pattern: Option<String>,
}

/// `[[catalog.locations]] rules[]`: the kinds that location may provide.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocationRuleConfig {
    /// The kinds allowed.
    pub allow: Vec<String>,
}

/// `[catalog] reading-allow[]`: Backstage's `backend.reading.allow[]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReadingAllowConfig {
    /// `example.com`, `example.com:8080`, `*.example.com`, or an address
    /// (`127.0.0.1:8080`), which is then read even though it is private.
    pub host: String,
    /// Path prefixes allowed on it; every path when absent.
    #[serde(default)]
    pub paths: Option<Vec<String>>,
}

/// The catalog rules `settings` describe, configured file targets resolved
/// against `base` as they are registered.
pub fn rules(settings: &CatalogSettings, base: &Path) -> anyhow::Result<CatalogRules> {
    let mut rules = CatalogRules {
        plugin_people_confer_roles: settings.plugin_people_confer_roles,
        ..CatalogRules::default()
    };
    if let Some(global) = &settings.rules {
        rules.global = Vec::new();
        for (i, rule) in global.iter().enumerate() {
            let locations = rule
                .locations
                .as_ref()
                .map(|matchers| {
                    matchers
                        .iter()
                        .map(|m| {
                            let target = m
                                .target
                                .as_ref()
                                .map(|t| Catalog::normalise_target(m.kind, t))
                                .transpose()?;
                            LocationMatcher::new(m.kind, target, m.pattern.as_deref())
                                .map_err(anyhow::Error::msg)
                        })
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()
                .with_context(|| format!("catalog.rules[{i}]"))?;
            rules.global.push(CatalogRule {
                allow: rule.allow.clone(),
                locations,
            });
        }
    }
    for location in &settings.locations {
        let Some(own) = &location.rules else {
            continue;
        };
        let target = Catalog::normalise_target(location.kind, &location.resolved_target(base))?;
        let allow = own.iter().flat_map(|r| r.allow.iter().cloned()).collect();
        rules.configured.push((location.kind, target, allow));
    }
    Ok(rules)
}

/// How catalog files' URLs are read, as `settings` and `[egress]
/// private-hosts` say.
pub fn url_reading(
    settings: &CatalogSettings,
    private_hosts: &[String],
) -> anyhow::Result<UrlReading> {
    let duration = |key: &str, text: &Option<String>, default: Duration| match text {
        None => Ok(default),
        Some(text) => {
            let value = humantime::parse_duration(text).with_context(|| {
                format!("catalog.{key}: `{text}` is not a duration; write e.g. `10s`")
            })?;
            if value.is_zero() {
                bail!("catalog.{key} must be more than 0s");
            }
            Ok(value)
        }
    };
    let allow = settings
        .reading_allow
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            ReadingAllow::new(&entry.host, entry.paths.clone())
                .map_err(|e| anyhow::anyhow!("catalog.reading-allow[{i}]: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(UrlReading {
        allow,
        private_hosts: private_hosts.to_vec(),
        request_timeout: duration(
            "reading-timeout",
            &settings.reading_timeout,
            greenroom_catalog::DEFAULT_REQUEST_TIMEOUT,
        )?,
        location_budget: duration(
            "location-budget",
            &settings.location_budget,
            greenroom_catalog::DEFAULT_LOCATION_BUDGET,
        )?,
    })
}

/// The catalog over `db`, with the configured locations (and, for
/// `--demo`, the demo organisation) registered. Nothing is read yet: the
/// refresh loop does that once the portal serves.
pub fn open(config: &Config, base: &Path, db: &Database, demo: bool) -> anyhow::Result<Catalog> {
    let catalog = Catalog::new(
        CatalogStore::new(db.clone()),
        config
            .catalog
            .catalog_config(base, &config.egress.private_hosts)?,
    );
    let mut locations: Vec<(LocationType, String, &str)> = config
        .catalog
        .locations
        .iter()
        .map(|l| (l.kind, l.resolved_target(base), "config"))
        .collect();
    if demo {
        let folder = config.data_dir.join("demo-catalog");
        write_demo_catalog(&folder)?;
        let all = folder.join("all.yaml").to_string_lossy().into_owned();
        locations.push((LocationType::File, all, "demo"));
    }
    for (kind, target, origin) in locations {
        register(&catalog, kind, &target, origin)?;
    }
    Ok(catalog)
}

/// Registers a location unless it is registered already.
fn register(
    catalog: &Catalog,
    kind: LocationType,
    target: &str,
    origin: &str,
) -> anyhow::Result<()> {
    let target = Catalog::normalise_target(kind, target)?;
    if catalog.store().location_by_target(kind, &target)?.is_none() {
        catalog.store().add_location(kind, &target, origin)?;
        tracing::info!(%kind, %target, origin, "registered catalog location");
    }
    Ok(())
}

/// Writes the demo catalog's files under `folder`, replacing older copies
/// (so a new binary brings its new demo data).
fn write_demo_catalog(folder: &Path) -> anyhow::Result<()> {
    fn write(dir: &Dir<'_>, folder: &Path) -> anyhow::Result<()> {
        for file in dir.files() {
            let path = folder.join(file.path());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, file.contents()).with_context(|| {
                format!("cannot write the demo catalog file {}", path.display())
            })?;
        }
        for sub in dir.dirs() {
            write(sub, folder)?;
        }
        Ok(())
    }
    write(&DEMO_CATALOG, folder)
}

/// `greenroom catalog validate PATH…`: checks catalog files as ingestion
/// would (following Location entities and placeholders), prints each
/// problem as `file:line:column: rule`, and fails when there is any.
pub fn validate(paths: &[String]) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut entities = 0;
    let mut problems = Vec::new();
    let mut first_seen: std::collections::HashMap<String, String> = Default::default();
    for path in paths {
        let kind = location_kind(path);
        let target = match kind {
            LocationType::File => {
                let target = Catalog::normalise_target(kind, path)?;
                if Path::new(&target).is_dir() {
                    format!("{target}/**/*.{{yaml,yml}}")
                } else {
                    target
                }
            }
            _ => path.clone(),
        };
        let reading = greenroom_catalog::read_location(kind, &target);
        // The first entity is the location itself, which validate does
        // not count.
        for ingested in reading.entities.iter().skip(1) {
            entities += 1;
            let key = ingested.entity_ref.key();
            if let Some(first) = first_seen.insert(key, ingested.source.clone()) {
                problems.push(format!(
                    "{}: duplicate entity {}: it is also defined in {}",
                    shown(&ingested.source, &cwd),
                    ingested.entity_ref,
                    shown(&first, &cwd)
                ));
            }
        }
        for problem in &reading.problems {
            let shown_source = shown(&problem.source, &cwd);
            problems.push(match problem.position {
                Some(p) => format!(
                    "{shown_source}:{}:{}: {}",
                    p.line, p.column, problem.message
                ),
                None => format!("{shown_source}: {}", problem.message),
            });
        }
    }
    for problem in &problems {
        println!("{problem}");
    }
    if problems.is_empty() {
        println!("{entities} entities, no problems");
        Ok(())
    } else {
        anyhow::bail!(
            "{} problem(s) in {entities} valid entities' files",
            problems.len()
        )
    }
}

/// What a location given on the command line is: an http(s) URL, or a
/// file path or glob.
fn location_kind(target: &str) -> LocationType {
    match url::Url::parse(target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => LocationType::Url,
        _ => LocationType::File,
    }
}

/// A source as a person reads it: files relative to the working folder.
fn shown(source: &str, cwd: &Path) -> String {
    match source.strip_prefix("file:") {
        Some(path) => Path::new(path)
            .strip_prefix(cwd)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.to_owned()),
        None => source.to_owned(),
    }
}

/// `greenroom catalog import LOCATION`: registers a location in the data
/// directory's catalog and reads it at once. A running server shares the
/// database and refreshes it from then on.
pub fn import(config: &Config, db: &Database, target: &str, dry_run: bool) -> anyhow::Result<()> {
    let kind = location_kind(target);
    // Configured locations' own rules are matched by their targets, which
    // this command does not register: the folder they resolve against
    // does not matter here.
    let catalog = Catalog::new(
        CatalogStore::new(db.clone()),
        config
            .catalog
            .catalog_config(Path::new(""), &config.egress.private_hosts)?,
    );
    if dry_run {
        let reading = catalog.analyze(kind, target, "cli")?;
        for ingested in reading.entities.iter().skip(1) {
            println!("would add {}", ingested.entity_ref);
        }
        for problem in &reading.problems {
            println!("{problem}");
        }
        return Ok(());
    }
    let (location, report) = catalog.add_location(kind, target, "cli", false)?;
    println!(
        "registered {} {} (id {})",
        location.kind, location.target, location.id
    );
    println!(
        "{} added, {} updated, {} unchanged, {} problem(s)",
        report.added,
        report.updated,
        report.unchanged,
        report.problems.len()
    );
    for problem in &report.problems {
        println!("  {problem}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> CatalogSettings {
        toml::from_str(toml_text).expect("valid [catalog] settings")
    }

    #[test]
    fn reads_rules_reading_allow_and_budgets_in_backstages_shape() {
        let catalog = settings(
            r#"
            rules = [
              { allow = ["Component", "System"] },
              { allow = ["Template"], locations = [{ type = "url", pattern = "https://git.example.com/*" }] },
            ]
            reading-allow = [{ host = "*.example.com", paths = ["/raw/"] }, { host = "127.0.0.1:8080" }]
            reading-timeout = "5s"
            location-budget = "2m"
            plugin-people-confer-roles = true

            [[locations]]
            type = "file"
            target = "org/org.yaml"
            rules = [{ allow = ["User", "Group"] }]
            "#,
        );
        let rules = rules(&catalog, Path::new("/etc/greenroom")).expect("valid rules");
        assert_eq!(rules.global.len(), 2);
        assert_eq!(rules.global[0].allow, ["Component", "System"]);
        assert_eq!(
            rules.configured,
            [(
                LocationType::File,
                "/etc/greenroom/org/org.yaml".to_owned(),
                vec!["User".to_owned(), "Group".to_owned()]
            )]
        );
        assert!(rules.plugin_people_confer_roles);
        let urls = url_reading(&catalog, &["sonar.corp".into()]).expect("valid reading");
        assert_eq!(urls.allow.len(), 2);
        assert_eq!(urls.private_hosts, ["sonar.corp"]);
        assert_eq!(urls.request_timeout, Duration::from_secs(5));
        assert_eq!(urls.location_budget, Duration::from_secs(120));
    }

    #[test]
    fn without_settings_only_components_apis_and_locations_and_no_url() {
        let catalog = settings("");
        let rules = rules(&catalog, Path::new("")).expect("valid");
        assert_eq!(rules, CatalogRules::default());
        assert!(url_reading(&catalog, &[]).expect("valid").allow.is_empty());
    }

    #[test]
    fn refuses_a_bad_host_or_duration_naming_the_setting() {
        let bad_host = settings(r#"reading-allow = [{ host = "https://example.com/x" }]"#);
        let err = url_reading(&bad_host, &[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("catalog.reading-allow[0]"),
            "{err:#}"
        );
        let bad_budget = settings(r#"location-budget = "soon""#);
        let err = url_reading(&bad_budget, &[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("catalog.location-budget"),
            "{err:#}"
        );
    }
}
