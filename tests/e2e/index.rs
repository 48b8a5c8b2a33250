//! `marketplace-index.toml` lists every first-party plugin as the build
//! produces it: a stale entry (an old digest, a changed capability) fails
//! here, with the entry to paste instead.

use greenroom_contract::Artifact;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    #[serde(default)]
    plugins: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    summary: String,
    publisher: String,
    tier: String,
    source: String,
    versions: Vec<Version>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Version {
    version: String,
    wit: String,
    artifact: String,
    sha256: String,
    capabilities: Vec<String>,
}

fn expected_entry(source: &str, artifact: &Artifact, crate_name: &str) -> String {
    let m = artifact.manifest();
    let capabilities: Vec<String> = m
        .capabilities
        .iter()
        .map(|c| format!("{:?}", c.to_string()))
        .collect();
    format!(
        "[[plugins]]\nid = {:?}\nname = {:?}\nsummary = {:?}\npublisher = \"greenroom\"\ntier = \"{}\"\nsource = {:?}\n\n\
         [[plugins.versions]]\nversion = \"{}\"\nwit = \"{}\"\nartifact = \"bundled:{crate_name}\"\nsha256 = \"{}\"\ncapabilities = [{}]\n",
        m.id.as_str(),
        m.name,
        m.description,
        m.tier,
        source,
        m.version,
        artifact.built_against(),
        artifact.digest().hex(),
        capabilities.join(", ")
    )
}

#[test]
fn the_marketplace_index_matches_the_built_plugins() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../marketplace-index.toml");
    let index: Index =
        toml::from_str(&std::fs::read_to_string(path).expect("marketplace-index.toml exists"))
            .expect("the index parses");
    for bundled in greenroom_artifacts::BUNDLED {
        let artifact =
            Artifact::from_bytes(bundled.bytes.to_vec()).expect("bundled plugins are valid");
        let manifest = artifact.manifest();
        let expected = expected_entry(bundled.source, &artifact, bundled.crate_name);
        let entry = index
            .plugins
            .iter()
            .find(|e| e.id == manifest.id.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "marketplace-index.toml has no entry for `{}`; add:\n\n{expected}",
                    manifest.id
                )
            });
        let version = entry
            .versions
            .iter()
            .find(|v| v.version == manifest.version.to_string());
        let current = version.is_some_and(|v| {
            v.sha256 == artifact.digest().hex()
                && v.wit == artifact.built_against().to_string()
                && v.artifact == format!("bundled:{}", bundled.crate_name)
                && v.capabilities
                    == manifest
                        .capabilities
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
        }) && entry.name == manifest.name
            && entry.summary == manifest.description
            && entry.tier == manifest.tier.to_string()
            && entry.source == bundled.source
            && entry.publisher == "greenroom";
        assert!(
            current,
            "marketplace-index.toml is stale for `{}`; replace its entry with:\n\n{expected}",
            manifest.id
        );
    }
}
