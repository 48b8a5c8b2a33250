//! The catalog as the binary sets it up, and `greenroom catalog …`.

use crate::config::Config;
use anyhow::Context as _;
use greenroom_catalog::{Catalog, CatalogStore, LocationType};
use greenroom_store::Database;
use include_dir::{Dir, include_dir};
use std::path::Path;

/// The demo organisation (`demo/catalog/`), compiled into the binary so
/// `--demo` works from any folder.
static DEMO_CATALOG: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../demo/catalog");

/// The catalog over `db`, with the configured locations (and, for
/// `--demo`, the demo organisation) registered. Nothing is read yet: the
/// refresh loop does that once the portal serves.
pub fn open(config: &Config, base: &Path, db: &Database, demo: bool) -> anyhow::Result<Catalog> {
    let catalog = Catalog::new(CatalogStore::new(db.clone()), config.catalog.catalog_config()?);
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
fn register(catalog: &Catalog, kind: LocationType, target: &str, origin: &str) -> anyhow::Result<()> {
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
            std::fs::write(&path, file.contents())
                .with_context(|| format!("cannot write the demo catalog file {}", path.display()))?;
        }
        for sub in dir.dirs() {
            write(sub, folder)?;
        }
        Ok(())
    }
    write(&DEMO_CATALOG, folder)
}
