//! A publisher's commands: `greenroom keys generate`, `greenroom plugin
//! sign` and `greenroom index add`, which together produce a signed index
//! entry.

use anyhow::{Context as _, bail};
use greenroom_contract::Artifact;
use greenroom_marketplace::{
    SecretKey, TrustedPublishers, add_to_index_text, entry_for, signed_statement,
};
use std::path::Path;

/// `greenroom keys generate --out FILE`: a new publisher key pair.
pub fn keys_generate(out: &Path) -> anyhow::Result<()> {
    let key = SecretKey::generate();
    key.write(out)?;
    println!(
        "wrote the signing key to {} (keep it secret)",
        out.display()
    );
    println!("public key: {}", key.public());
    println!(
        "operators trust it with:\n  [[marketplace.trusted-publishers]]\n  name = \"<your publisher name>\"\n  key = \"{}\"",
        key.public()
    );
    Ok(())
}

/// `greenroom plugin sign FILE --key KEY`: the signature an index entry
/// carries for this artifact.
pub fn plugin_sign(file: &Path, key: &Path) -> anyhow::Result<()> {
    let artifact = read_artifact(file)?;
    let key = SecretKey::read(key)?;
    let manifest = artifact.manifest();
    let sha256 = artifact.digest().hex();
    let signature = key.sign(&signed_statement(
        manifest.id.as_str(),
        &manifest.version.to_string(),
        &sha256,
    ));
    println!("plugin:    {} {}", manifest.id, manifest.version);
    println!("sha256:    {sha256}");
    println!("signature: {signature}");
    println!("key:       {}", key.public());
    Ok(())
}

/// Where `index add` takes the artifact from.
pub enum ArtifactSource<'a> {
    /// A component file, and where the index should say it is.
    File {
        /// The file.
        path: &'a Path,
        /// The `artifact` field; the path relative to the index when none.
        location: Option<&'a str>,
    },
    /// A plugin compiled into this binary (`bundled:<name>`).
    Bundled(&'a str),
}

/// `greenroom index add`: adds (or replaces) a signed entry for an artifact
/// in an index file, keeping the file's comments and other entries.
pub fn index_add(
    index: &Path,
    key: &Path,
    publisher: &str,
    source: ArtifactSource<'_>,
) -> anyhow::Result<()> {
    let (artifact, location, folder) = match source {
        ArtifactSource::Bundled(name) => {
            let bundled = greenroom_artifacts::bundled(name).with_context(|| {
                format!(
                    "no plugin `{name}` is bundled (bundled: {})",
                    crate::plugins::bundled_names()
                )
            })?;
            let artifact = Artifact::from_bytes(bundled.bytes.to_vec())
                .with_context(|| format!("the bundled plugin `{name}` cannot be read"))?;
            (artifact, format!("bundled:{name}"), Some(bundled.source))
        }
        ArtifactSource::File { path, location } => {
            let artifact = read_artifact(path)?;
            let location = match location {
                Some(location) => location.to_owned(),
                None => {
                    let folder = index.parent().filter(|p| !p.as_os_str().is_empty());
                    relative_to(path, folder.unwrap_or(Path::new(".")))
                }
            };
            (artifact, location, None)
        }
    };
    let key = SecretKey::read(key)?;
    let (mut plugin, version) = entry_for(&artifact, publisher, &location, &key);
    // A bundled plugin's source folder in this repository.
    plugin.source = folder.map(str::to_owned);
    let text = match std::fs::read_to_string(index) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => bail!("cannot read {}: {e}", index.display()),
    };
    let updated = add_to_index_text(&text, &plugin, &version)?;
    std::fs::write(index, updated).with_context(|| format!("cannot write {}", index.display()))?;
    println!(
        "{}: {} {} ({}) signed by `{publisher}`, sha256 {}",
        index.display(),
        plugin.id,
        version.version,
        version.artifact,
        version.sha256
    );
    Ok(())
}

fn read_artifact(path: &Path) -> anyhow::Result<Artifact> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Artifact::from_bytes(bytes)
        .with_context(|| format!("{} is not a loadable plugin", path.display()))
}

/// `path` relative to `folder` when it is inside it, else absolute.
fn relative_to(path: &Path, folder: &Path) -> String {
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let path = absolute(path);
    match path.strip_prefix(absolute(folder)) {
        Ok(relative) => relative.display().to_string(),
        Err(_) => format!("file:{}", path.display()),
    }
}

/// `greenroom index verify`: checks every version of every plugin in an
/// index, printing one line each.
pub fn index_verify(
    config: &crate::config::Config,
    index_path: &Path,
    trust: &[String],
) -> anyhow::Result<()> {
    let mut trusted: TrustedPublishers = config.marketplace.trusted()?;
    for entry in trust {
        let (name, key) =
            TrustedPublishers::parse_entry(entry).with_context(|| format!("--trust {entry}"))?;
        trusted.trust(&name, key);
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let marketplace = greenroom_marketplace::Marketplace::new(
        greenroom_store::Database::open(&scratch.path().join("scratch.db"))?,
        scratch.path().join("plugins"),
        trusted,
        Vec::new(),
        crate::install::builtins(),
    );
    let index = marketplace.read_index(&index_path.display().to_string())?;
    let mut refused = 0;
    for plugin in &index.index.plugins {
        for version in &plugin.versions {
            let checked = marketplace.check(&index, plugin, version, &greenroom_marketplace::Quiet);
            match checked {
                Ok(_) => println!(
                    "ok       {} {} ({})",
                    plugin.id, version.version, version.artifact
                ),
                Err(error) => {
                    refused += 1;
                    println!("refused  {} {}: {error:#}", plugin.id, version.version);
                }
            }
        }
    }
    if refused > 0 {
        bail!("{refused} version(s) in {} refused", index_path.display());
    }
    Ok(())
}
