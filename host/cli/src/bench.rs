//! `greenroom bench …`: performance measured on the machine it runs on,
//! printed for docs/performance.md. Build with `--release`; numbers from a
//! debug build are meaningless.

use anyhow::Context as _;

/// `greenroom bench catalog --entities N`.
pub fn catalog(entities: usize, samples: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot create a scratch directory")?;
    greenroom_catalog::bench::run(dir.path(), entities, samples)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the catalog benchmark failed")
}
