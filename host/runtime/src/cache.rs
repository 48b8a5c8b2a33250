//! Compiled components, cached in the data directory.
//!
//! Compiling a component with Cranelift takes hundreds of milliseconds;
//! deserializing a compiled one takes about a millisecond. Entries are keyed
//! by the artifact's sha256 and the engine's compatibility hash (wasmtime
//! version, target and engine settings), so a changed artifact or an
//! upgraded host never loads stale code.

use crate::error::{LoadError, RuntimeError};
use greenroom_contract::Digest;
use sha2::{Digest as _, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component came from, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Deserialized from the cache.
    Hit,
    /// Compiled (and, when there is a cache, stored).
    Compiled,
}

/// The on-disk cache of compiled components; `None` directory means no
/// caching (every load compiles).
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// Feeds `Hash` output into sha256, so the engine's compatibility hash is
/// stable across processes (std's `DefaultHasher` is not promised to be).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the sha256 digest is read")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ComponentCache {
    pub(crate) fn new(
        engine: &Engine,
        dir: Option<PathBuf>,
    ) -> Result<ComponentCache, RuntimeError> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|error| RuntimeError::Cache {
                path: dir.clone(),
                error,
            })?;
        }
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        Ok(ComponentCache { dir, engine_key })
    }

    fn path(&self, dir: &Path, digest: &Digest) -> PathBuf {
        dir.join(format!("{}-{}.cwasm", digest.hex(), self.engine_key))
    }

    /// The compiled component for `bytes`, from the cache when possible.
    pub(crate) fn component(
        &self,
        engine: &Engine,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let Some(dir) = &self.dir else {
            return Ok((compile(engine, bytes)?, CacheOutcome::Compiled));
        };
        let path = self.path(dir, digest);
        if path.exists() {
            // SAFETY: the file was written by `store` below, in the data
            // directory, which only the host writes; wasmtime checks the
            // header and the engine's compatibility before using it. A
            // data directory an attacker can write is already a full
            // compromise of the host.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding an unreadable cached component");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = compile(engine, bytes)?;
        if let Err(error) = store(&component, &path) {
            tracing::warn!(path = %path.display(), %error, "could not cache a compiled component; the next start compiles again");
        }
        Ok((component, CacheOutcome::Compiled))
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))
}

/// Writes atomically (temp file, then rename), so a crash mid-write never
/// leaves a truncated entry behind.
fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}
