//! A plugin artifact: one component file carrying its own manifest.
//!
//! The SDK's `export!` macro writes two custom sections into the component:
//! [`WIT_VERSION_SECTION`] (the contract version the plugin was built
//! against, as text) and [`MANIFEST_SECTION`] (the manifest TOML). Both are
//! read here with `wasmparser`, before anything is compiled or run, and both
//! are covered by the artifact's sha256 digest.

use crate::manifest::{Manifest, ManifestError};
use crate::wit::{UnsupportedWitVersion, WitVersion};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use wasmparser::{Encoding, Parser, Payload};

/// Custom section holding the manifest, as TOML.
pub const MANIFEST_SECTION: &str = "greenroom:manifest";

/// Custom section holding the WIT version the plugin was built against, as
/// text (e.g. `0.1.0`).
pub const WIT_VERSION_SECTION: &str = "greenroom:wit-version";

/// The largest manifest section the host reads. A manifest is a page of
/// TOML; anything bigger is not one.
const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// The sha256 digest of an artifact's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest(Sha256::digest(bytes).into())
    }

    /// The digest as 64 lower-case hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a file is not a loadable plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArtifactError {
    /// The bytes are not WebAssembly at all.
    #[error("not a WebAssembly component: {0}")]
    NotWasm(String),
    /// A core module where a component was expected.
    #[error(
        "this is a core WebAssembly module, not a component; build the plugin for the \
         `wasm32-wasip2` target"
    )]
    CoreModule,
    /// A component without Greenroom's sections.
    #[error(
        "not a Greenroom plugin: the component has no `{0}` custom section; build it with \
         greenroom-sdk and its `export!` macro"
    )]
    MissingSection(&'static str),
    /// More than one copy of a Greenroom section.
    #[error("the component has {count} `{section}` sections; a plugin has exactly one")]
    DuplicateSection {
        /// Which section.
        section: &'static str,
        /// How many were found.
        count: usize,
    },
    /// The WIT version section is not a semantic version.
    #[error("the `{WIT_VERSION_SECTION}` section is not a version: {0}")]
    BadWitVersion(String),
    /// Built against a contract this host cannot serve.
    #[error(transparent)]
    UnsupportedWitVersion(#[from] UnsupportedWitVersion),
    /// The manifest section is not valid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// A plugin file, checked and described, not yet compiled.
#[derive(Debug, Clone)]
pub struct Artifact {
    bytes: Arc<[u8]>,
    digest: Digest,
    manifest: Manifest,
    built_against: semver::Version,
    wit_version: WitVersion,
}

impl Artifact {
    /// Reads and checks a component's Greenroom sections.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Result<Artifact, ArtifactError> {
        let bytes: Arc<[u8]> = bytes.into();
        let sections = GreenroomSections::read(&bytes)?;
        let version_text = sections.wit_version;
        let built_against = semver::Version::parse(version_text.trim()).map_err(|e| {
            ArtifactError::BadWitVersion(format!("`{}` ({e})", version_text.escape_debug()))
        })?;
        let wit_version = WitVersion::for_plugin(&built_against)?;
        let manifest = Manifest::from_toml(&sections.manifest)?;
        Ok(Artifact {
            digest: Digest::of(&bytes),
            bytes,
            manifest,
            built_against,
            wit_version,
        })
    }

    /// The component's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// sha256 of the bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The contract version the plugin says it was built against.
    pub fn built_against(&self) -> &semver::Version {
        &self.built_against
    }

    /// The released contract version that serves it.
    pub fn wit_version(&self) -> WitVersion {
        self.wit_version
    }
}

/// The text of the two sections, found anywhere in the component (the
/// compiler puts them in the core module the component wraps).
struct GreenroomSections {
    wit_version: String,
    manifest: String,
}

impl GreenroomSections {
    fn read(bytes: &[u8]) -> Result<GreenroomSections, ArtifactError> {
        let mut wit_versions = Vec::new();
        let mut manifests = Vec::new();
        let mut first = true;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| ArtifactError::NotWasm(e.to_string()))?;
            match payload {
                Payload::Version { encoding, .. } if first => {
                    first = false;
                    if encoding == Encoding::Module {
                        return Err(ArtifactError::CoreModule);
                    }
                }
                Payload::CustomSection(section) if section.name() == WIT_VERSION_SECTION => {
                    wit_versions.push(section.data().to_vec());
                }
                Payload::CustomSection(section) if section.name() == MANIFEST_SECTION => {
                    manifests.push(section.data().to_vec());
                }
                _ => {}
            }
        }
        if first {
            return Err(ArtifactError::NotWasm("the file is empty".into()));
        }
        let wit_version = exactly_one(WIT_VERSION_SECTION, wit_versions)?;
        let manifest = exactly_one(MANIFEST_SECTION, manifests)?;
        if manifest.len() > MAX_MANIFEST_BYTES {
            return Err(ArtifactError::Manifest(ManifestError {
                field: "(file)".into(),
                message: format!(
                    "the manifest is {} bytes; the most is {MAX_MANIFEST_BYTES}",
                    manifest.len()
                ),
            }));
        }
        let utf8 = |section: &'static str, data: Vec<u8>| {
            String::from_utf8(data).map_err(|_| {
                ArtifactError::Manifest(ManifestError {
                    field: "(file)".into(),
                    message: format!("the `{section}` section is not UTF-8 text"),
                })
            })
        };
        Ok(GreenroomSections {
            wit_version: utf8(WIT_VERSION_SECTION, wit_version)?,
            manifest: utf8(MANIFEST_SECTION, manifest)?,
        })
    }
}

fn exactly_one(section: &'static str, mut found: Vec<Vec<u8>>) -> Result<Vec<u8>, ArtifactError> {
    match found.len() {
        0 => Err(ArtifactError::MissingSection(section)),
        1 => Ok(found.remove(0)),
        count => Err(ArtifactError::DuplicateSection { section, count }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty component (`\0asm`, component layer version) followed by
    /// the given custom sections.
    fn component_with(sections: &[(&str, &str)]) -> Vec<u8> {
        let mut component = wasm_encoder::Component::new();
        for (name, data) in sections {
            component.section(&wasm_encoder::CustomSection {
                name: (*name).into(),
                data: data.as_bytes().into(),
            });
        }
        component.finish()
    }

    const MANIFEST: &str = "id = \"x\"\nname = \"X\"\nversion = \"1.0.0\"\ntier = \"open\"\n";

    #[test]
    fn reads_the_manifest_and_version_from_custom_sections() {
        let bytes = component_with(&[(WIT_VERSION_SECTION, "0.1.0"), (MANIFEST_SECTION, MANIFEST)]);
        let artifact = Artifact::from_bytes(bytes.clone()).expect("valid artifact");
        assert_eq!(artifact.manifest().id.as_str(), "x");
        assert_eq!(artifact.wit_version(), WitVersion::V0_1_0);
        assert_eq!(artifact.digest(), Digest::of(&bytes));
        assert!(artifact.digest().to_string().starts_with("sha256:"));
    }

    #[test]
    fn refuses_a_component_without_greenroom_sections() {
        let err = Artifact::from_bytes(component_with(&[])).unwrap_err();
        assert!(err.to_string().contains("not a Greenroom plugin"), "{err}");
    }

    #[test]
    fn refuses_a_core_module() {
        let err =
            Artifact::from_bytes(vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]).unwrap_err();
        assert_eq!(err, ArtifactError::CoreModule);
    }

    #[test]
    fn refuses_bytes_that_are_not_wasm() {
        let err = Artifact::from_bytes(b"#!/bin/sh\necho hi".to_vec()).unwrap_err();
        assert!(matches!(err, ArtifactError::NotWasm(_)), "{err}");
        assert!(matches!(
            Artifact::from_bytes(Vec::new()).unwrap_err(),
            ArtifactError::NotWasm(_)
        ));
    }

    #[test]
    fn refuses_duplicate_sections() {
        let bytes = component_with(&[
            (WIT_VERSION_SECTION, "0.1.0"),
            (MANIFEST_SECTION, MANIFEST),
            (MANIFEST_SECTION, MANIFEST),
        ]);
        let err = Artifact::from_bytes(bytes).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::DuplicateSection {
                section: MANIFEST_SECTION,
                count: 2
            }
        );
    }

    #[test]
    fn refuses_another_major_wit_version() {
        let bytes = component_with(&[(WIT_VERSION_SECTION, "1.0.0"), (MANIFEST_SECTION, MANIFEST)]);
        let err = Artifact::from_bytes(bytes).unwrap_err();
        assert!(err.to_string().contains("greenroom:plugin@1.0.0"), "{err}");
    }

    #[test]
    fn names_the_manifest_field_at_fault() {
        let bad = MANIFEST.replace("open", "free");
        let bytes = component_with(&[(WIT_VERSION_SECTION, "0.1.0"), (MANIFEST_SECTION, &bad)]);
        let err = Artifact::from_bytes(bytes).unwrap_err();
        assert!(err.to_string().contains("`tier`"), "{err}");
    }
}
