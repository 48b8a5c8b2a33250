//! Installing, upgrading, removing, enabling and disabling plugins on a
//! data directory: the one implementation behind `greenroom plugin …`
//! offline, the admin API and the admin pages.
//!
//! An install is two steps, so that whoever asks for consent (a terminal
//! prompt, a form with checkboxes, `--yes`) sits between them:
//! [`Marketplace::prepare`] fetches and verifies the artifact and says what
//! it requests and what is new since the installed version;
//! [`Marketplace::install`] records the operator's grants and keeps the
//! verified copy. A running server follows the records and swaps the plugin
//! in; nothing here loads or runs a plugin.

use crate::index::{Index, IndexError, IndexPlugin, IndexVersion, TrustedPublishers, VerifyError};
use crate::installed::{Installed, InstalledError, InstalledPlugins};
use greenroom_access::AuditLog;
use greenroom_contract::{Artifact, Capability, Manifest};
use greenroom_contract::{Coverage, Grant, grant_specs};
use greenroom_store::{Database, PluginStore};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest artifact fetched (a componentized interpreter is tens of
/// MiB; anything far beyond is not a plugin).
pub const MAX_ARTIFACT_BYTES: u64 = 256 * 1024 * 1024;

/// The index source naming the index compiled into the binary (the
/// repository's own `marketplace-index.toml`).
pub const BUILTIN_INDEX: &str = "builtin";

/// How long a download may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// What can go wrong. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The index could not be read or parsed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A download or a file read failed.
    #[error("cannot fetch {location}: {reason}")]
    Fetch {
        /// What was fetched.
        location: String,
        /// Why it failed.
        reason: String,
    },
    /// The index has no such plugin.
    #[error("{index} has no plugin `{id}`; it lists: {listed}")]
    NoPlugin {
        /// The index.
        index: String,
        /// The id asked for.
        id: String,
        /// The ids it has.
        listed: String,
    },
    /// None of the configured indexes has the plugin.
    #[error("no configured index lists a plugin `{0}`")]
    NotListed(String),
    /// No indexes are configured.
    #[error(
        "no marketplace index is configured; add `indexes = [\"https://…\"]` under [marketplace], or pass --index"
    )]
    NoIndexes,
    /// The plugin has no such version.
    #[error("`{id}` has no version {version}; it has {versions}")]
    NoVersion {
        /// The plugin.
        id: String,
        /// The version asked for.
        version: String,
        /// What it has.
        versions: String,
    },
    /// The artifact is not what the index and its publisher say.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The chosen grants are not within what the plugin requests.
    #[error("the grant for {id}: {reason}")]
    Grant {
        /// The plugin.
        id: String,
        /// Why.
        reason: String,
    },
    /// The records could not be read or written.
    #[error(transparent)]
    Installed(#[from] InstalledError),
    /// A file in the data directory could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The plugin's stored data could not be purged.
    #[error("cannot purge the data of {id}: {reason}")]
    Purge {
        /// The plugin.
        id: String,
        /// Why.
        reason: String,
    },
}

/// Told how a download goes, to draw a progress bar.
pub trait Progress {
    /// A download of `total` bytes (when known) starts.
    fn start(&self, _location: &str, _total: Option<u64>) {}
    /// `bytes` more arrived.
    fn advance(&self, _bytes: u64) {}
    /// The download is complete.
    fn finish(&self) {}
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {}

/// Finds the component of a plugin compiled into the binary by name.
pub type BundledLookup = fn(&str) -> Option<&'static [u8]>;

/// Where artifacts and indexes come from, besides files and URLs: the
/// plugins and the index compiled into the binary.
#[derive(Clone, Copy, Default)]
pub struct Builtins {
    /// The component of a bundled plugin, by name (`bundled:<name>`).
    pub bundled: Option<BundledLookup>,
    /// The text of the index compiled in ([`BUILTIN_INDEX`]).
    pub index: Option<&'static str>,
}

/// An index as read from its source, with where its relative artifact
/// locations are resolved.
#[derive(Debug, Clone)]
pub struct SourcedIndex {
    /// The source as configured: a path, an `https:` URL or `builtin`.
    pub source: String,
    /// What it lists.
    pub index: Index,
    /// The folder or URL that relative artifact locations are under.
    base: String,
}

/// What one requested capability means for the operator deciding.
#[derive(Debug, Clone)]
pub struct Request {
    /// The capability as the manifest requests it.
    pub capability: Capability,
    /// The grant strings that grant it (what a checkbox stands for).
    pub grants: Vec<String>,
    /// Fully granted to the installed version already: kept on upgrade
    /// without asking again.
    pub granted_before: bool,
    /// Not requested by the installed version (only on an upgrade).
    pub new: bool,
    /// An `http` request with `operator-origins`: the plugin talks to
    /// services whose address the operator chooses, so the operator may
    /// grant origins besides those listed (`http:<origin>`).
    pub operator_origins: bool,
    /// The origins the operator added for the installed version (only on
    /// an upgrade that still allows them): kept unless the operator drops
    /// them.
    pub added_origins: Vec<String>,
}

/// A verified artifact, waiting for the operator's consent.
pub struct Candidate {
    /// The index it came from.
    pub source: String,
    /// The plugin as the index lists it.
    pub plugin: IndexPlugin,
    /// The version chosen.
    pub version: IndexVersion,
    /// The verified component.
    pub artifact: Artifact,
    /// What is installed now under this id.
    pub previous: Option<Installed>,
    /// What it requests, capability by capability.
    pub requests: Vec<Request>,
    /// Capabilities the installed version had and this one drops.
    pub dropped: Vec<Capability>,
}

impl Candidate {
    /// The grants of the capabilities granted before and the origins an
    /// operator added before (kept on upgrade), plus, when `all`,
    /// everything else it requests.
    pub fn default_grants(&self, all: bool) -> Vec<String> {
        let requested = self
            .requests
            .iter()
            .filter(|r| all || r.granted_before)
            .flat_map(|r| r.grants.iter().cloned());
        let added = self
            .requests
            .iter()
            .flat_map(|r| r.added_origins.iter().map(|o| format!("http:{o}")));
        requested.chain(added).collect()
    }

    /// The requests not granted before: what consent is needed for.
    pub fn to_ask(&self) -> impl Iterator<Item = &Request> {
        self.requests.iter().filter(|r| !r.granted_before)
    }
}

/// The plugins installed on one data directory, and the indexes they come
/// from.
pub struct Marketplace {
    db: Database,
    plugins_dir: PathBuf,
    trusted: TrustedPublishers,
    indexes: Vec<String>,
    builtins: Builtins,
}

impl Marketplace {
    /// The marketplace of the data directory whose database is `db`,
    /// keeping verified artifacts in `plugins_dir`, reading `indexes` and
    /// accepting the signatures of `trusted`.
    pub fn new(
        db: Database,
        plugins_dir: PathBuf,
        trusted: TrustedPublishers,
        indexes: Vec<String>,
        builtins: Builtins,
    ) -> Marketplace {
        Marketplace {
            db,
            plugins_dir,
            trusted,
            indexes,
            builtins,
        }
    }

    /// The records of installed plugins.
    pub fn installed(&self) -> InstalledPlugins {
        InstalledPlugins::new(self.db.clone())
    }

    /// The plugins of the configuration file an admin turned off.
    pub fn suspensions(&self) -> crate::Suspensions {
        crate::Suspensions::new(self.db.clone())
    }

    /// The data directory's audit log, where every change made here is
    /// recorded.
    pub fn audit_log(&self) -> AuditLog {
        AuditLog::new(self.db.clone())
    }

    /// The configured index sources.
    pub fn index_sources(&self) -> &[String] {
        &self.indexes
    }

    /// Reads an index: a file, an `http(s)` URL or [`BUILTIN_INDEX`].
    pub fn read_index(&self, source: &str) -> Result<SourcedIndex, LifecycleError> {
        if source == BUILTIN_INDEX {
            let text = self.builtins.index.ok_or_else(|| LifecycleError::Fetch {
                location: source.to_owned(),
                reason: "this binary has no index compiled in".into(),
            })?;
            return Ok(SourcedIndex {
                source: source.to_owned(),
                index: Index::parse(text, "the built-in index")?,
                base: ".".into(),
            });
        }
        if is_url(source) {
            let bytes = fetch_url(source, &Quiet)?;
            let text = String::from_utf8(bytes).map_err(|_| LifecycleError::Fetch {
                location: source.to_owned(),
                reason: "the index is not UTF-8 text".into(),
            })?;
            let base = source.rsplit_once('/').map_or(source, |(b, _)| b);
            return Ok(SourcedIndex {
                source: source.to_owned(),
                index: Index::parse(&text, source)?,
                base: base.to_owned(),
            });
        }
        let path = Path::new(source.strip_prefix("file:").unwrap_or(source));
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(SourcedIndex {
            source: source.to_owned(),
            index: Index::read(path)?,
            base: folder.display().to_string(),
        })
    }

    /// Every configured index, each read or with why it could not be.
    // A handful of indexes, read rarely: the error's size does not matter.
    #[allow(clippy::result_large_err)]
    pub fn indexes(&self) -> Vec<Result<SourcedIndex, (String, LifecycleError)>> {
        self.indexes
            .iter()
            .map(|source| self.read_index(source).map_err(|e| (source.clone(), e)))
            .collect()
    }

    /// The index that lists `id`: `source` when given, else the first
    /// configured index listing it.
    pub fn find(&self, id: &str, source: Option<&str>) -> Result<SourcedIndex, LifecycleError> {
        if let Some(source) = source {
            let index = self.read_index(source)?;
            if index.index.plugin(id).is_none() {
                let listed: Vec<&str> = index.index.plugins.iter().map(|p| p.id.as_str()).collect();
                return Err(LifecycleError::NoPlugin {
                    index: source.to_owned(),
                    id: id.to_owned(),
                    listed: listed.join(", "),
                });
            }
            return Ok(index);
        }
        if self.indexes.is_empty() {
            return Err(LifecycleError::NoIndexes);
        }
        for index in self.indexes() {
            match index {
                Ok(index) if index.index.plugin(id).is_some() => return Ok(index),
                Ok(_) => {}
                Err((source, error)) => {
                    tracing::warn!(index = %source, "index unreadable: {error}");
                }
            }
        }
        Err(LifecycleError::NotListed(id.to_owned()))
    }

    /// Fetches and verifies version `version` (the newest when `None`) of
    /// plugin `id` from `index`, and works out what it requests compared
    /// with what is installed. Nothing in the data directory changes.
    pub fn prepare(
        &self,
        index: &SourcedIndex,
        id: &str,
        version: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Candidate, LifecycleError> {
        let plugin = index
            .index
            .plugin(id)
            .ok_or_else(|| LifecycleError::NoPlugin {
                index: index.source.clone(),
                id: id.to_owned(),
                listed: index
                    .index
                    .plugins
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let chosen = plugin
            .version(version)
            .ok_or_else(|| LifecycleError::NoVersion {
                id: id.to_owned(),
                version: version.unwrap_or("(newest)").to_owned(),
                versions: plugin
                    .versions
                    .iter()
                    .map(|v| v.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let artifact = self.check(index, plugin, chosen, progress)?;
        let previous = self.installed().get(id)?;
        let (requests, dropped) = requests(&artifact, previous.as_ref());
        Ok(Candidate {
            source: index.source.clone(),
            plugin: plugin.clone(),
            version: chosen.clone(),
            artifact,
            previous,
            requests,
            dropped,
        })
    }

    /// Fetches one version's artifact and verifies it: digest, trusted
    /// publisher, signature, loadability and manifest.
    pub fn check(
        &self,
        index: &SourcedIndex,
        plugin: &IndexPlugin,
        version: &IndexVersion,
        progress: &dyn Progress,
    ) -> Result<Artifact, LifecycleError> {
        let bytes = self.fetch_artifact(&version.artifact, &index.base, progress)?;
        Ok(crate::index::verify(
            plugin,
            version,
            &bytes,
            &self.trusted,
        )?)
    }

    /// Records `candidate` as installed with `grants` (all or part of what
    /// it requests), keeping its verified copy in the data directory. An
    /// installed plugin of the same id is upgraded and keeps whether it was
    /// enabled. Audited as done by `actor`.
    pub fn install(
        &self,
        candidate: &Candidate,
        grants: &[String],
        actor: &str,
    ) -> Result<Installed, LifecycleError> {
        let manifest = candidate.artifact.manifest();
        let id = candidate.plugin.id.clone();
        Grant::select(manifest, grants).map_err(|e| LifecycleError::Grant {
            id: id.clone(),
            reason: e.to_string(),
        })?;
        std::fs::create_dir_all(&self.plugins_dir).map_err(|source| LifecycleError::Write {
            path: self.plugins_dir.display().to_string(),
            source,
        })?;
        let version = &candidate.version;
        let path = self.plugins_dir.join(format!(
            "{id}-{}-{}.wasm",
            version.version,
            &version.sha256[..12.min(version.sha256.len())]
        ));
        write_atomically(&path, candidate.artifact.bytes())?;
        let previous = candidate.previous.as_ref();
        let installed = Installed {
            id: id.clone(),
            version: version.version.clone(),
            publisher: candidate.plugin.publisher.clone(),
            index_source: candidate.source.clone(),
            sha256: version.sha256.clone(),
            artifact: path.display().to_string(),
            grants: grants.to_vec(),
            enabled: previous.is_none_or(|p| p.enabled),
        };
        self.installed().record(&installed)?;
        // The copy of a version no longer installed goes.
        if let Some(previous) = previous.filter(|p| p.artifact != installed.artifact) {
            let _ = std::fs::remove_file(&previous.artifact);
        }
        let action = match previous {
            Some(p) if p.version != installed.version => "plugin.upgrade",
            Some(_) => "plugin.reinstall",
            None => "plugin.install",
        };
        let from = previous
            .filter(|p| p.version != installed.version)
            .map(|p| format!(" (from {})", p.version))
            .unwrap_or_default();
        self.audit(
            actor,
            &id,
            action,
            &format!(
                "{id} {}{from} from {}, granted [{}]",
                installed.version,
                candidate.source,
                grants.join(", ")
            ),
        );
        Ok(installed)
    }

    /// Uninstalls `id`; its stored data stays unless `purge`. Returns what
    /// was installed and how many stored keys were purged.
    pub fn remove(
        &self,
        id: &str,
        purge: bool,
        actor: &str,
    ) -> Result<(Installed, u64), LifecycleError> {
        let removed = self.installed().remove(id)?;
        let _ = std::fs::remove_file(&removed.artifact);
        let purged = if purge {
            PluginStore::purge(&self.db, id).map_err(|e| LifecycleError::Purge {
                id: id.to_owned(),
                reason: e.to_string(),
            })?
        } else {
            0
        };
        let reason = if purge {
            format!(
                "removed {id} {} and purged its {purged} stored keys",
                removed.version
            )
        } else {
            format!("removed {id} {}; its data is kept", removed.version)
        };
        self.audit(actor, id, "plugin.remove", &reason);
        Ok((removed, purged))
    }

    /// Enables or disables an installed plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool, actor: &str) -> Result<(), LifecycleError> {
        self.installed().set_enabled(id, enabled)?;
        let action = if enabled {
            "plugin.enable"
        } else {
            "plugin.disable"
        };
        self.audit(actor, id, action, action);
        Ok(())
    }

    /// The bytes at an index's artifact location.
    fn fetch_artifact(
        &self,
        location: &str,
        base: &str,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>, LifecycleError> {
        if let Some(name) = location.strip_prefix("bundled:") {
            return self
                .builtins
                .bundled
                .and_then(|bundled| bundled(name))
                .map(<[u8]>::to_vec)
                .ok_or_else(|| LifecycleError::Fetch {
                    location: location.to_owned(),
                    reason: format!("no plugin `{name}` is bundled in this binary"),
                });
        }
        let resolved =
            if is_url(base) && !location.contains("://") && !location.starts_with("file:") {
                format!("{base}/{}", location.trim_start_matches("./"))
            } else {
                location.to_owned()
            };
        if is_url(&resolved) {
            return fetch_url(&resolved, progress);
        }
        let path = match resolved.strip_prefix("file:") {
            Some(path) => PathBuf::from(path),
            None => Path::new(base).join(&resolved),
        };
        let fail = |reason: String| LifecycleError::Fetch {
            location: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(&path).map_err(|e| fail(e.to_string()))?;
        let total = file.metadata().map(|m| m.len()).ok();
        read_bounded(file, &path.display().to_string(), total, progress)
    }

    fn audit(&self, actor: &str, plugin: &str, action: &str, reason: &str) {
        AuditLog::new(self.db.clone()).change(actor, Some(plugin), action, reason);
    }
}

/// What `artifact` requests, each marked as granted before (fully, to the
/// installed version) or new; and what the installed version had that it
/// no longer requests.
fn requests(artifact: &Artifact, previous: Option<&Installed>) -> (Vec<Request>, Vec<Capability>) {
    // What the installed version requested, from its verified copy.
    let old_requested: Option<Vec<Capability>> = previous
        .and_then(|p| std::fs::read(&p.artifact).ok())
        .and_then(|bytes| Artifact::from_bytes(bytes).ok())
        .map(|old| old.manifest().capabilities.clone());
    compare(
        artifact.manifest(),
        previous.map(|p| p.grants.as_slice()),
        old_requested,
    )
}

/// [`requests`] once the installed version's grants and requests are read.
fn compare(
    manifest: &Manifest,
    old_grants: Option<&[String]>,
    old_requested: Option<Vec<Capability>>,
) -> (Vec<Request>, Vec<Capability>) {
    let old_grant = old_grants.and_then(|grants| Grant::select(manifest, grants).ok());
    let requests = manifest
        .capabilities
        .iter()
        .map(|capability| Request {
            capability: capability.clone(),
            grants: grant_specs(capability),
            granted_before: old_grant
                .as_ref()
                .is_some_and(|g| g.coverage(capability) == Coverage::Full),
            new: old_requested
                .as_ref()
                .is_some_and(|old| !old.contains(capability)),
            operator_origins: matches!(
                capability,
                Capability::Http {
                    operator_origins: true,
                    ..
                }
            ),
            added_origins: old_grant
                .as_ref()
                .map(|g| g.added_origins(capability).into_iter().collect())
                .unwrap_or_default(),
        })
        .collect();
    let dropped = old_requested
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !manifest.capabilities.contains(c))
        .collect();
    (requests, dropped)
}

fn is_url(location: &str) -> bool {
    location.starts_with("https://") || location.starts_with("http://")
}

fn fetch_url(url: &str, progress: &dyn Progress) -> Result<Vec<u8>, LifecycleError> {
    let fail = |reason: String| LifecycleError::Fetch {
        location: url.to_owned(),
        reason,
    };
    let response = reqwest::blocking::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| fail(e.to_string()))?
        .get(url)
        .send()
        .and_then(|r| r.error_for_status())
        .map_err(|e| fail(e.to_string()))?;
    let total = response.content_length();
    read_bounded(response, url, total, progress)
}

/// Reads at most [`MAX_ARTIFACT_BYTES`], telling `progress`.
fn read_bounded(
    mut reader: impl std::io::Read,
    location: &str,
    total: Option<u64>,
    progress: &dyn Progress,
) -> Result<Vec<u8>, LifecycleError> {
    let fail = |reason: String| LifecycleError::Fetch {
        location: location.to_owned(),
        reason,
    };
    if total.is_some_and(|t| t > MAX_ARTIFACT_BYTES) {
        return Err(fail(format!("larger than {MAX_ARTIFACT_BYTES} bytes")));
    }
    progress.start(location, total);
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer).map_err(|e| fail(e.to_string()))?;
        if read == 0 {
            break;
        }
        bytes.extend_from_slice(&buffer[..read]);
        if bytes.len() as u64 > MAX_ARTIFACT_BYTES {
            return Err(fail(format!("larger than {MAX_ARTIFACT_BYTES} bytes")));
        }
        progress.advance(read as u64);
    }
    progress.finish();
    Ok(bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LifecycleError> {
    let fail = |source| LifecycleError::Write {
        path: path.display().to_string(),
        source,
    };
    let temporary = path.with_extension("wasm.partial");
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}

/// A [`Candidate`] as shown to the operator deciding (the admin API's JSON,
/// the CLI's consent prompt).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CandidateView {
    /// The plugin's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// One line about it.
    pub summary: String,
    /// The version offered.
    pub version: String,
    /// Who publishes it (verified).
    pub publisher: String,
    /// `open` or `premium`.
    pub tier: String,
    /// The index it comes from.
    pub index: String,
    /// sha256 of the verified artifact.
    pub sha256: String,
    /// The contract version it was built against.
    pub wit: String,
    /// The version installed now, if any.
    pub installed_version: Option<String>,
    /// What it requests.
    pub requests: Vec<RequestView>,
    /// What the installed version requested and this one does not.
    pub dropped: Vec<String>,
}

/// One requested capability, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestView {
    /// The capability, e.g. `http (api.github.com)`.
    pub capability: String,
    /// What granting it lets the plugin do, in plain language
    /// ([`Capability::meaning`]).
    #[serde(default)]
    pub meaning: String,
    /// The grant strings that grant it.
    pub grants: Vec<String>,
    /// Granted to the installed version already.
    pub granted_before: bool,
    /// Not requested by the installed version.
    pub new: bool,
    /// The operator may grant origins besides those listed: the plugin
    /// talks to services whose address the operator chooses.
    #[serde(default)]
    pub operator_origins: bool,
    /// Origins the operator added for the installed version, kept on
    /// upgrade unless dropped.
    #[serde(default)]
    pub added_origins: Vec<String>,
    /// What granting it means beyond its name, when that is not obvious
    /// (see [`consent_warning`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// What granting `capability` to a plugin with `manifest` means beyond
/// its name, for the operator deciding.
///
/// `catalog:read` reads what the acting user may see — but a scheduled
/// task acts for no one, so it reads the whole catalog, and what the
/// plugin keeps from it (a score, a summary, a name) can be drawn on its
/// pages to users who may not read those entities. The host cannot tell
/// which stored value came from which entity; the operator must know.
pub fn consent_warning(capability: &Capability, manifest: &Manifest) -> Option<String> {
    if *capability != Capability::CatalogRead || manifest.tasks.is_empty() {
        return None;
    }
    let tasks: Vec<&str> = manifest.tasks.iter().map(|t| t.name.as_str()).collect();
    Some(format!(
        "its scheduled tasks ({}) run for no user, so with catalog:read they read the whole catalog, \
         entities no viewer may read included; what the plugin stores from them can appear on its \
         pages to users who may not read those entities",
        tasks.join(", ")
    ))
}

impl Candidate {
    /// What the operator is shown.
    pub fn view(&self) -> CandidateView {
        CandidateView {
            id: self.plugin.id.clone(),
            name: self.plugin.name.clone(),
            summary: self.plugin.summary.clone(),
            version: self.version.version.clone(),
            publisher: self.plugin.publisher.clone(),
            tier: self.plugin.tier.clone(),
            index: self.source.clone(),
            sha256: self.version.sha256.clone(),
            wit: self.version.wit.clone(),
            installed_version: self.previous.as_ref().map(|p| p.version.clone()),
            requests: self
                .requests
                .iter()
                .map(|r| RequestView {
                    capability: r.capability.to_string(),
                    meaning: r.capability.meaning(),
                    grants: r.grants.clone(),
                    granted_before: r.granted_before,
                    new: r.new,
                    operator_origins: r.operator_origins,
                    added_origins: r.added_origins.clone(),
                    warning: consent_warning(&r.capability, self.artifact.manifest()),
                })
                .collect(),
            dropped: self.dropped.iter().map(ToString::to_string).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(http: &str) -> Manifest {
        Manifest::from_toml(&format!(
            "id = \"p\"\nname = \"P\"\nversion = \"1.0.0\"\ntier = \"open\"\n\
             [capabilities]\ncatalog = {{ read = true }}\n{http}"
        ))
        .expect("valid manifest")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn candidate(requests: Vec<Request>) -> Candidate {
        let bytes = greenroom_artifacts::bundled("hello")
            .expect("hello is bundled")
            .bytes;
        Candidate {
            source: "index.toml".into(),
            plugin: IndexPlugin {
                id: "p".into(),
                name: "P".into(),
                summary: String::new(),
                publisher: "acme".into(),
                tier: "open".into(),
                homepage: None,
                source: None,
                versions: Vec::new(),
            },
            version: IndexVersion {
                version: "1.0.0".into(),
                wit: "0.1.0".into(),
                artifact: "p.wasm".into(),
                sha256: String::new(),
                signature: String::new(),
                capabilities: Vec::new(),
            },
            artifact: Artifact::from_bytes(bytes.to_vec()).expect("hello loads"),
            previous: None,
            requests,
            dropped: Vec::new(),
        }
    }

    #[test]
    fn a_request_for_operator_origins_says_so_and_keeps_the_origins_added_before() {
        let manifest = manifest("http = { hosts = [\"api.github.com\"], operator-origins = true }");
        let before = strings(&[
            "catalog:read",
            "http:api.github.com",
            "http:sonar.internal:9000",
        ]);
        let (requests, dropped) = compare(
            &manifest,
            Some(&before),
            Some(manifest.capabilities.clone()),
        );
        assert!(dropped.is_empty());
        let http = &requests[1];
        assert!(http.operator_origins && http.granted_before && !http.new);
        assert_eq!(http.added_origins, ["sonar.internal:9000"]);
        assert!(!requests[0].operator_origins && requests[0].added_origins.is_empty());
        let view = candidate(requests.clone()).view();
        assert!(view.requests[1].operator_origins);
        assert_eq!(
            view.requests[1].capability,
            "http (api.github.com, and origins an operator adds)"
        );
        let kept = candidate(requests).default_grants(false);
        assert_eq!(
            kept,
            strings(&[
                "catalog:read",
                "http:api.github.com",
                "http:sonar.internal:9000"
            ])
        );
        assert!(Grant::select(&manifest, &kept).is_ok());
    }

    #[test]
    fn a_plugin_that_asks_for_operator_origins_anew_shows_that_request_as_new() {
        let old = manifest("http = { hosts = [\"api.github.com\"] }");
        let new = manifest("http = { hosts = [\"api.github.com\"], operator-origins = true }");
        let (requests, dropped) = compare(
            &new,
            Some(&strings(&["all"])),
            Some(old.capabilities.clone()),
        );
        assert!(requests[1].new && requests[1].operator_origins);
        assert!(requests[1].added_origins.is_empty());
        assert_eq!(dropped, [old.capabilities[1].clone()]);
    }

    #[test]
    fn without_operator_origins_nothing_beyond_the_list_is_offered_or_kept() {
        let manifest = manifest("http = { hosts = [\"api.github.com\"] }");
        let (requests, _) = compare(
            &manifest,
            Some(&strings(&["http:api.github.com"])),
            Some(manifest.capabilities.clone()),
        );
        assert!(!requests[1].operator_origins && requests[1].added_origins.is_empty());
        assert!(matches!(
            Grant::select(&manifest, &strings(&["http:sonar.internal:9000"])),
            Err(greenroom_contract::GrantError::NotRequested { .. })
        ));
    }
}
