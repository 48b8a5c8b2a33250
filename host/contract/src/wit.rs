//! The released versions of the WIT contract and which of them this host
//! loads.
//!
//! Each released version is frozen in `wit/since_vX.Y.Z/` and has a module
//! here whose `bindgen!` reads it. A component records the version it was
//! built against in its `greenroom:wit-version` custom section; the host
//! reads that before instantiating anything ([`WitVersion::for_plugin`]) and
//! dispatches on the result, as Zed's extension host does.
//!
//! The rule: a plugin built against `X.Y.Z` loads on a host that has released
//! a version with the same major `X` that is not newer than `X.Y.Z` — the
//! newest such version serves it. A plugin built against a newer contract
//! than the host knows, or another major version, is refused.

pub mod since_v0_1_1;

/// The newest version's bindings: the types the rest of the host works in.
pub mod latest {
    pub use super::since_v0_1_1::*;
}

use semver::Version;
use std::fmt;

/// A released version of the contract this host can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WitVersion {
    /// `greenroom:plugin@0.1.0`: the first release.
    V0_1_0,
    /// `greenroom:plugin@0.1.1`: adds `rbac-admin`.
    V0_1_1,
}

/// A plugin built against a contract version this host cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plugin was built against greenroom:plugin@{found}, but this host supports {}; {hint}",
    WitVersion::supported_list()
)]
pub struct UnsupportedWitVersion {
    /// The version the plugin declares.
    pub found: Version,
    hint: &'static str,
}

impl WitVersion {
    /// Every released version, oldest first.
    pub const ALL: &'static [WitVersion] = &[WitVersion::V0_1_0, WitVersion::V0_1_1];

    /// The newest released version: what the SDK in this repository builds
    /// against.
    pub const LATEST: WitVersion = WitVersion::V0_1_1;

    /// The semantic version this variant stands for.
    pub fn version(self) -> Version {
        match self {
            WitVersion::V0_1_0 => Version::new(0, 1, 0),
            WitVersion::V0_1_1 => Version::new(0, 1, 1),
        }
    }

    /// The folder under `wit/` that freezes this version.
    pub fn folder(self) -> String {
        format!("since_v{}", self.version())
    }

    /// Picks the version that serves a plugin built against `built_against`.
    pub fn for_plugin(built_against: &Version) -> Result<WitVersion, UnsupportedWitVersion> {
        let refuse = |hint| {
            Err(UnsupportedWitVersion {
                found: built_against.clone(),
                hint,
            })
        };
        let mut same_major = Self::ALL
            .iter()
            .rev()
            .copied()
            .filter(|v| v.version().major == built_against.major);
        let Some(newest) = same_major.next() else {
            return refuse("rebuild the plugin with a greenroom-sdk for this major version");
        };
        if newest.version() < *built_against {
            // It may call imports this host does not have.
            return refuse("the plugin needs a newer Greenroom; upgrade the host");
        }
        match std::iter::once(newest)
            .chain(same_major)
            .find(|v| v.version() <= *built_against)
        {
            Some(version) => Ok(version),
            None => refuse("rebuild the plugin with a released greenroom-sdk"),
        }
    }

    fn supported_list() -> String {
        let versions: Vec<String> = Self::ALL.iter().map(|v| v.version().to_string()).collect();
        versions.join(", ")
    }
}

impl fmt::Display for WitVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "greenroom:plugin@{}", self.version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::path::{Path, PathBuf};

    fn v(s: &str) -> Version {
        Version::parse(s).expect("test versions are valid")
    }

    #[test]
    fn serves_a_plugin_built_against_a_released_version() {
        assert_eq!(WitVersion::for_plugin(&v("0.1.0")), Ok(WitVersion::V0_1_0));
        assert_eq!(WitVersion::for_plugin(&v("0.1.1")), Ok(WitVersion::V0_1_1));
        // A newer patch may call imports this host does not have.
        assert!(WitVersion::for_plugin(&v("0.1.2")).is_err());
    }

    #[test]
    fn refuses_another_major_version() {
        let err = WitVersion::for_plugin(&v("1.0.0")).unwrap_err();
        assert!(err.to_string().contains("greenroom:plugin@1.0.0"), "{err}");
        assert!(err.to_string().contains("supports 0.1.0, 0.1.1"), "{err}");
    }

    #[test]
    fn refuses_a_newer_version_than_the_host_knows() {
        let err = WitVersion::for_plugin(&v("0.9.0")).unwrap_err();
        assert!(err.to_string().contains("upgrade the host"), "{err}");
    }

    fn wit_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit")
    }

    /// sha256 over every file of a version folder, in path order, each as
    /// its relative path, a NUL, its bytes and a NUL.
    fn folder_hash(dir: &Path) -> String {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("WIT folder is readable") {
                let path = entry.expect("WIT folder entry is readable").path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(dir, &mut files);
        files.sort();
        let mut hasher = Sha256::new();
        for file in files {
            let relative = file
                .strip_prefix(dir)
                .expect("walked files are inside the folder");
            hasher.update(relative.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(std::fs::read(&file).expect("WIT file is readable"));
            hasher.update([0]);
        }
        hex::encode(hasher.finalize())
    }

    #[derive(serde::Deserialize)]
    struct Released {
        release: Vec<Release>,
    }

    #[derive(serde::Deserialize)]
    struct Release {
        version: Version,
        sha256: String,
    }

    fn released() -> Released {
        let text = std::fs::read_to_string(wit_root().join("released.toml"))
            .expect("wit/released.toml exists");
        toml::from_str(&text).expect("wit/released.toml is valid")
    }

    /// A released version is frozen: changing the contract means adding a
    /// new `since_vX.Y.Z` folder with a new version, never editing one.
    #[test]
    fn released_wit_folders_are_unchanged() {
        for release in released().release {
            let folder = wit_root().join(format!("since_v{}", release.version));
            let actual = folder_hash(&folder);
            assert_eq!(
                actual, release.sha256,
                "wit/since_v{} changed after release; add a new version folder (and bump the \
                 package version) instead of editing a released one",
                release.version
            );
        }
    }

    #[test]
    fn every_version_folder_is_released_and_served() {
        let released: Vec<Version> = released().release.into_iter().map(|r| r.version).collect();
        let served: Vec<Version> = WitVersion::ALL.iter().map(|v| v.version()).collect();
        assert_eq!(
            released, served,
            "wit/released.toml and WitVersion::ALL disagree"
        );
        for entry in std::fs::read_dir(wit_root()).expect("wit/ is readable") {
            let path = entry.expect("wit/ entry is readable").path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(version) = name.strip_prefix("since_v") else {
                continue;
            };
            assert!(
                released.contains(&v(version)),
                "wit/{name} has no entry in wit/released.toml"
            );
        }
    }

    #[test]
    fn each_folder_declares_its_own_package_version() {
        for version in WitVersion::ALL {
            let types = wit_root().join(version.folder()).join("types.wit");
            let text = std::fs::read_to_string(types).expect("types.wit exists");
            let expected = format!("package greenroom:plugin@{};", version.version());
            assert!(
                text.contains(&expected),
                "{} does not declare `{expected}`",
                version.folder()
            );
        }
    }
}
