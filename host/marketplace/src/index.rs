//! The marketplace index format (`marketplace-index.toml`) and verifying an
//! artifact against its entry.

use crate::keys::{KeyError, PublicKey, SecretKey, signed_statement};
use greenroom_contract::{Artifact, ArtifactError, Digest};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A whole index: every plugin it offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The plugins, each with its versions.
    #[serde(default)]
    pub plugins: Vec<IndexPlugin>,
}

/// One plugin in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexPlugin {
    /// The plugin's id, as in its manifest.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// One line about it.
    pub summary: String,
    /// Who publishes it: the name operators trust a key under.
    pub publisher: String,
    /// `open` or `premium`.
    pub tier: String,
    /// Where to read about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Where its source lives (first-party plugins: a folder of this
    /// repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Its published versions, oldest first.
    pub versions: Vec<IndexVersion>,
}

/// One published version of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexVersion {
    /// The plugin's version, as in its manifest.
    pub version: String,
    /// The contract version it was built against.
    pub wit: String,
    /// Where the component is: `bundled:<name>` (compiled into the host),
    /// a path relative to the index, `file:/absolute/path` or an `https:`
    /// URL.
    pub artifact: String,
    /// sha256 of the component, hex.
    pub sha256: String,
    /// The publisher's ed25519 signature (base64) of
    /// [`signed_statement`]`(id, version, sha256)`.
    pub signature: String,
    /// What it requests, as the manifest says it (shown before consent).
    pub capabilities: Vec<String>,
}

/// Why an index cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The TOML is malformed or has a wrong field; names the field.
    #[error("{path}: {message}")]
    Format {
        /// The index file.
        path: String,
        /// What is wrong, with the field's path.
        message: String,
    },
}

impl Index {
    /// Parses an index; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Index, IndexError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| IndexError::Format {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| IndexError::Format {
            path: path.to_owned(),
            message: format!("{}: {}", e.path(), e.inner().message()),
        })
    }

    /// Reads an index file.
    pub fn read(path: &Path) -> Result<Index, IndexError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| IndexError::Io(format!("cannot read {}: {e}", path.display())))?;
        Index::parse(&text, &path.display().to_string())
    }

    /// The plugin with this id.
    pub fn plugin(&self, id: &str) -> Option<&IndexPlugin> {
        self.plugins.iter().find(|p| p.id == id)
    }
}

impl IndexPlugin {
    /// The version with this number, or the newest when `None`.
    pub fn version(&self, version: Option<&str>) -> Option<&IndexVersion> {
        match version {
            Some(v) => self.versions.iter().find(|x| x.version == v),
            None => self
                .versions
                .iter()
                .max_by_key(|x| semver::Version::parse(&x.version).ok()),
        }
    }
}

/// The publishers an operator trusts, each with its key.
#[derive(Debug, Clone, Default)]
pub struct TrustedPublishers(Vec<(String, PublicKey)>);

impl TrustedPublishers {
    /// Trust `key` for `publisher`.
    pub fn trust(&mut self, publisher: &str, key: PublicKey) {
        self.0.push((publisher.to_owned(), key));
    }

    /// Parses `name=ed25519:<base64>`, as `--trust` takes it.
    pub fn parse_entry(text: &str) -> Result<(String, PublicKey), KeyError> {
        let (name, key) = text
            .split_once('=')
            .ok_or_else(|| KeyError::Malformed(text.to_owned(), "name=ed25519:"))?;
        Ok((name.trim().to_owned(), PublicKey::parse(key)?))
    }

    /// The keys `publisher` is trusted under (it may have several).
    pub fn keys_of(&self, publisher: &str) -> impl Iterator<Item = &PublicKey> {
        self.0
            .iter()
            .filter(move |(p, _)| p == publisher)
            .map(|(_, k)| k)
    }
}

/// Why an artifact is refused. Each message says exactly what did not
/// match, so an operator knows whether the index, the download or the
/// publisher is at fault.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The bytes are not the ones the index describes (tampered with, or a
    /// different build).
    #[error(
        "the artifact of {id} {version} does not match the index: its sha256 is {found}, the index says {expected}"
    )]
    DigestMismatch {
        /// Plugin id.
        id: String,
        /// Version.
        version: String,
        /// From the index.
        expected: String,
        /// Of the bytes.
        found: String,
    },
    /// No trusted key for the publisher.
    #[error(
        "{id} is published by `{publisher}`, whom this host does not trust; add its key to [[marketplace.trusted-publishers]] if you do"
    )]
    UntrustedPublisher {
        /// Plugin id.
        id: String,
        /// The index's publisher.
        publisher: String,
    },
    /// The signature is not the publisher's for this id, version and digest.
    #[error(
        "the signature of {id} {version} is not valid for publisher `{publisher}`'s key: the index entry was altered or signed with another key"
    )]
    BadSignature {
        /// Plugin id.
        id: String,
        /// Version.
        version: String,
        /// The index's publisher.
        publisher: String,
    },
    /// Not a plugin this host can load (not a component, WIT major).
    #[error("{id} {version} cannot be loaded: {error}")]
    Artifact {
        /// Plugin id.
        id: String,
        /// Version.
        version: String,
        /// Why.
        error: ArtifactError,
    },
    /// The manifest inside the artifact says otherwise than the index.
    #[error(
        "the manifest of {id} {version} differs from the index: {field} is {in_artifact} in the artifact but {in_index} in the index"
    )]
    ManifestMismatch {
        /// Plugin id.
        id: String,
        /// Version.
        version: String,
        /// Which field.
        field: &'static str,
        /// The artifact's value.
        in_artifact: String,
        /// The index's value.
        in_index: String,
    },
}

/// Checks `bytes` against an index entry, in the order that gives the most
/// useful answer: digest, publisher, signature, loadability, manifest.
pub fn verify(
    plugin: &IndexPlugin,
    version: &IndexVersion,
    bytes: &[u8],
    trusted: &TrustedPublishers,
) -> Result<Artifact, VerifyError> {
    let id = plugin.id.clone();
    let number = version.version.clone();
    let found = Digest::of(bytes).hex();
    if !found.eq_ignore_ascii_case(version.sha256.trim()) {
        return Err(VerifyError::DigestMismatch {
            id,
            version: number,
            expected: version.sha256.clone(),
            found,
        });
    }
    let mut keys = trusted.keys_of(&plugin.publisher).peekable();
    if keys.peek().is_none() {
        return Err(VerifyError::UntrustedPublisher {
            id,
            publisher: plugin.publisher.clone(),
        });
    }
    let statement = signed_statement(&plugin.id, &version.version, &found);
    if !keys.any(|key| key.verifies(&statement, &version.signature)) {
        return Err(VerifyError::BadSignature {
            id,
            version: number,
            publisher: plugin.publisher.clone(),
        });
    }
    let artifact = Artifact::from_bytes(bytes.to_vec()).map_err(|error| VerifyError::Artifact {
        id: id.clone(),
        version: number.clone(),
        error,
    })?;
    let manifest = artifact.manifest();
    let capabilities: Vec<String> = manifest
        .capabilities
        .iter()
        .map(ToString::to_string)
        .collect();
    let checks: [(&'static str, String, String); 5] = [
        ("id", manifest.id.as_str().to_owned(), plugin.id.clone()),
        (
            "version",
            manifest.version.to_string(),
            version.version.clone(),
        ),
        (
            "wit",
            artifact.built_against().to_string(),
            version.wit.clone(),
        ),
        ("tier", manifest.tier.to_string(), plugin.tier.clone()),
        (
            "capabilities",
            capabilities.join(", "),
            version.capabilities.join(", "),
        ),
    ];
    for (field, in_artifact, in_index) in checks {
        if in_artifact != in_index {
            return Err(VerifyError::ManifestMismatch {
                id,
                version: number,
                field,
                in_artifact: quoted(&in_artifact),
                in_index: quoted(&in_index),
            });
        }
    }
    Ok(artifact)
}

fn quoted(text: &str) -> String {
    if text.is_empty() {
        "(nothing)".into()
    } else {
        format!("`{text}`")
    }
}

/// The index entry for a built artifact, signed with `key`: what
/// `greenroom index add` writes.
pub fn entry_for(
    artifact: &Artifact,
    publisher: &str,
    location: &str,
    key: &SecretKey,
) -> (IndexPlugin, IndexVersion) {
    let manifest = artifact.manifest();
    let sha256 = artifact.digest().hex();
    let version = manifest.version.to_string();
    let signature = key.sign(&signed_statement(manifest.id.as_str(), &version, &sha256));
    let plugin = IndexPlugin {
        id: manifest.id.as_str().to_owned(),
        name: manifest.name.clone(),
        summary: manifest.description.clone(),
        publisher: publisher.to_owned(),
        tier: manifest.tier.to_string(),
        homepage: None,
        source: None,
        versions: Vec::new(),
    };
    let version = IndexVersion {
        version,
        wit: artifact.built_against().to_string(),
        artifact: location.to_owned(),
        sha256,
        signature,
        capabilities: manifest
            .capabilities
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    (plugin, version)
}

/// Adds (or replaces) a version in an index file's text, keeping its
/// comments and layout, and the plugin's other versions. A new plugin is
/// appended; an existing one takes the new name, summary, publisher and
/// tier, and keeps its homepage and source unless new ones are given.
pub fn add_to_index_text(
    text: &str,
    plugin: &IndexPlugin,
    version: &IndexVersion,
) -> Result<String, IndexError> {
    let mut document: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| IndexError::Format {
                path: "index".into(),
                message: e.to_string(),
            })?;
    let plugins = document
        .entry("plugins")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| IndexError::Format {
            path: "index".into(),
            message: "`plugins` must be an array of tables ([[plugins]])".into(),
        })?;
    let position = plugins
        .iter()
        .position(|t| t.get("id").and_then(|v| v.as_str()) == Some(plugin.id.as_str()));
    let table = match position {
        Some(i) => plugins.get_mut(i).expect("found above"),
        None => {
            plugins.push(toml_edit::Table::new());
            let table = plugins.iter_mut().last().expect("just pushed");
            table["id"] = toml_edit::value(&plugin.id);
            table
        }
    };
    table["name"] = toml_edit::value(&plugin.name);
    table["summary"] = toml_edit::value(&plugin.summary);
    table["publisher"] = toml_edit::value(&plugin.publisher);
    table["tier"] = toml_edit::value(&plugin.tier);
    // Given ones replace what was there; absent ones keep it.
    for (field, given) in [("homepage", &plugin.homepage), ("source", &plugin.source)] {
        if let Some(given) = given {
            table[field] = toml_edit::value(given);
        }
    }
    let versions = table
        .entry("versions")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| IndexError::Format {
            path: "index".into(),
            message: format!(
                "plugins `{}`: `versions` must be [[plugins.versions]]",
                plugin.id
            ),
        })?;
    let mut entry = toml_edit::Table::new();
    entry["version"] = toml_edit::value(&version.version);
    entry["wit"] = toml_edit::value(&version.wit);
    entry["artifact"] = toml_edit::value(&version.artifact);
    entry["sha256"] = toml_edit::value(&version.sha256);
    entry["signature"] = toml_edit::value(&version.signature);
    let mut capabilities = toml_edit::Array::new();
    for capability in &version.capabilities {
        capabilities.push(capability.as_str());
    }
    entry["capabilities"] = toml_edit::value(capabilities);
    let existing = versions
        .iter()
        .position(|t| t.get("version").and_then(|v| v.as_str()) == Some(version.version.as_str()));
    match existing {
        Some(i) => *versions.get_mut(i).expect("found above") = entry,
        None => versions.push(entry),
    }
    let text = document.to_string();
    // What was written must read back.
    Index::parse(&text, "index")?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenroom_artifacts as artifacts;

    fn hello() -> Artifact {
        Artifact::from_bytes(artifacts::bundled("hello").expect("bundled").bytes.to_vec())
            .expect("hello loads")
    }

    fn signed(key: &SecretKey) -> (IndexPlugin, IndexVersion, Vec<u8>) {
        let artifact = hello();
        let (plugin, version) = entry_for(&artifact, "acme", "hello.wasm", key);
        (plugin, version, artifact.bytes().to_vec())
    }

    fn trusting(key: &SecretKey) -> TrustedPublishers {
        let mut trusted = TrustedPublishers::default();
        trusted.trust("acme", key.public());
        trusted
    }

    #[test]
    fn a_signed_entry_verifies() {
        let key = SecretKey::generate();
        let (plugin, version, bytes) = signed(&key);
        let artifact = verify(&plugin, &version, &bytes, &trusting(&key)).expect("verifies");
        assert_eq!(artifact.manifest().id.as_str(), "hello");
    }

    #[test]
    fn a_tampered_artifact_is_refused_naming_both_digests() {
        let key = SecretKey::generate();
        let (plugin, version, mut bytes) = signed(&key);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let error = verify(&plugin, &version, &bytes, &trusting(&key)).unwrap_err();
        assert!(
            matches!(error, VerifyError::DigestMismatch { .. }),
            "{error}"
        );
        assert!(error.to_string().contains(&version.sha256), "{error}");
    }

    #[test]
    fn an_untrusted_publisher_is_refused() {
        let key = SecretKey::generate();
        let (plugin, version, bytes) = signed(&key);
        let error = verify(&plugin, &version, &bytes, &TrustedPublishers::default()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("published by `acme`, whom this host does not trust"),
            "{error}"
        );
    }

    #[test]
    fn a_signature_by_another_key_or_for_another_version_is_refused() {
        let key = SecretKey::generate();
        let (plugin, version, bytes) = signed(&key);
        let impostor = SecretKey::generate();
        let error = verify(&plugin, &version, &bytes, &trusting(&impostor)).unwrap_err();
        assert!(matches!(error, VerifyError::BadSignature { .. }), "{error}");

        // A signature copied from another version's entry.
        let mut other = version.clone();
        other.signature = key.sign(&signed_statement("hello", "9.9.9", &version.sha256));
        let error = verify(&plugin, &other, &bytes, &trusting(&key)).unwrap_err();
        assert!(matches!(error, VerifyError::BadSignature { .. }), "{error}");
    }

    #[test]
    fn a_manifest_that_differs_from_the_index_is_refused_naming_the_field() {
        let key = SecretKey::generate();
        let (plugin, mut version, bytes) = signed(&key);
        version.capabilities = vec!["storage (256.0 KiB)".into()];
        let error = verify(&plugin, &version, &bytes, &trusting(&key)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the manifest of hello 0.1.0 differs from the index: capabilities is `catalog:read, storage (256.0 KiB)` in the artifact but `storage (256.0 KiB)` in the index"
        );
    }

    #[test]
    fn an_unsupported_wit_major_is_refused_with_the_reason() {
        let key = SecretKey::generate();
        let bytes = std::fs::read(artifacts::WRONG_WIT_COMPONENT).expect("built");
        let mut plugin = signed(&key).0;
        plugin.id = "test-wrong-wit".into();
        let sha256 = Digest::of(&bytes).hex();
        let version = IndexVersion {
            version: "0.1.0".into(),
            wit: "9.0.0".into(),
            artifact: "x.wasm".into(),
            signature: key.sign(&signed_statement("test-wrong-wit", "0.1.0", &sha256)),
            sha256,
            capabilities: vec![],
        };
        let error = verify(&plugin, &version, &bytes, &trusting(&key)).unwrap_err();
        assert!(matches!(error, VerifyError::Artifact { .. }), "{error}");
        assert!(
            error.to_string().contains("greenroom:plugin@9.0.0"),
            "{error}"
        );
    }

    #[test]
    fn adding_to_an_index_keeps_its_comments_and_other_versions() {
        let key = SecretKey::generate();
        let (plugin, version, _) = signed(&key);
        let text = "# Our plugins.\n\n[[plugins]]\nid = \"hello\"\nname = \"Old\"\nsummary = \"s\"\npublisher = \"acme\"\ntier = \"open\"\nhomepage = \"https://example.com\"\n\n[[plugins.versions]]\nversion = \"0.0.9\"\nwit = \"0.1.0\"\nartifact = \"old.wasm\"\nsha256 = \"00\"\nsignature = \"x\"\ncapabilities = []\n";
        let updated = add_to_index_text(text, &plugin, &version).unwrap();
        assert!(updated.starts_with("# Our plugins."), "{updated}");
        let index = Index::parse(&updated, "index").unwrap();
        let hello = index.plugin("hello").unwrap();
        assert_eq!(hello.name, "Hello");
        assert_eq!(hello.homepage.as_deref(), Some("https://example.com"));
        assert_eq!(hello.versions.len(), 2);
        assert_eq!(hello.version(None).unwrap(), &version);
        // Adding the same version again replaces it.
        let again = add_to_index_text(&updated, &plugin, &version).unwrap();
        assert_eq!(
            Index::parse(&again, "index")
                .unwrap()
                .plugin("hello")
                .unwrap()
                .versions
                .len(),
            2
        );
    }

    #[test]
    fn a_misspelt_field_is_named() {
        let error =
            Index::parse("[[plugins]]\nid = \"a\"\nnmae = \"x\"\n", "idx.toml").unwrap_err();
        assert!(
            error.to_string().starts_with("idx.toml: plugins[0]"),
            "{error}"
        );
        assert!(error.to_string().contains("nmae"), "{error}");
    }
}
