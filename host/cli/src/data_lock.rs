//! One server per data directory: `greenroom serve` holds an exclusive lock
//! on `<data-dir>/greenroom.lock` for as long as it runs, so a second server
//! on the same directory stops at start with the first one's PID instead of
//! running every scheduled task and catalog refresh a second time.
//!
//! Only the server takes it. The commands an operator runs beside a server
//! (`rbac import|export`, `plugin install|enable|disable`, `licence add`,
//! `catalog add`, …) write through SQLite transactions, which are safe
//! against a running server, and the server follows what they change; they
//! must keep working while it serves.
//!
//! The lock is the operating system's (`File::try_lock`: `flock` on Unix,
//! `LockFileEx` on Windows), so it goes with the process however it ends —
//! a crash or `kill -9` never leaves a stale lock behind. The PID written
//! into the file is only there to name the holder in the message.

use anyhow::Context as _;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

/// The lock file's name in the data directory.
const LOCK_FILE: &str = "greenroom.lock";

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks `dir` (which must exist) for this process, or says who holds it.
    pub fn acquire(dir: &Path) -> anyhow::Result<DataDirLock> {
        let io = |source: std::io::Error| {
            anyhow::Error::new(source)
                .context(format!("cannot lock the data directory {}", dir.display()))
        };
        // Not truncated on open: the holder's PID must stay readable to a
        // second server that fails to lock.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text
                    .trim()
                    .parse::<u32>()
                    .map(|pid| format!(" (PID {pid})"))
                    .unwrap_or_default();
                anyhow::bail!(
                    "the data directory {} is in use by another Greenroom server{holder}; \
                     stop that server first, or give this one another --data-dir \
                     (several servers on one data directory are not supported yet)",
                    dir.display()
                );
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

/// Creates `dir` if needed and locks it for this server.
pub fn lock_for_serving(dir: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    DataDirLock::acquire(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_held_directory_names_the_directory_and_the_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _held = DataDirLock::acquire(dir.path()).expect("the first lock");
        let refused = DataDirLock::acquire(dir.path()).expect_err("a second lock is refused");
        let message = refused.to_string();
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(
            message.contains(&format!("PID {}", std::process::id())),
            "{message}"
        );
    }

    #[test]
    fn the_lock_is_free_again_once_its_holder_lets_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        drop(DataDirLock::acquire(dir.path()).expect("the first lock"));
        DataDirLock::acquire(dir.path()).expect("locked again");
    }
}
