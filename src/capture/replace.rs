//! Writing a file beside its name and renaming it over that name once it is
//! complete: an existing file is never lost to a failed write, and a file
//! being read (mapped) under that name keeps its bytes until it is closed.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::CaptureError;

/// A file being written at `PATH.saker-tmp-PID`, to become `PATH` on
/// [`Replacing::commit`]; dropped uncommitted, the temporary file is removed.
#[derive(Debug)]
pub struct Replacing {
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl Replacing {
    /// Creates the temporary file beside `path` (mode 0600, never an
    /// existing one) and returns it open for writing.
    pub fn create(path: &Path) -> Result<(Replacing, File), CaptureError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".saker-tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| CaptureError::io(format!("creating {}", tmp.display()), e))?;
        let r = Replacing {
            tmp,
            path: path.to_path_buf(),
            done: false,
        };
        Ok((r, f))
    }

    /// Renames the written file over the name.
    pub fn commit(mut self) -> Result<(), CaptureError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            let what = format!("renaming {} to {}", self.tmp.display(), self.path.display());
            CaptureError::io(what, e)
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Replacing {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn commit_replaces_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"old").unwrap();
        let names = || std::fs::read_dir(dir.path()).unwrap().count();
        // Dropped uncommitted: the old file stays, no temporary is left.
        let (r, mut f) = Replacing::create(&path).unwrap();
        f.write_all(b"half").unwrap();
        assert_eq!(names(), 2);
        drop(r);
        assert_eq!(
            (std::fs::read(&path).unwrap(), names()),
            (b"old".to_vec(), 1)
        );
        // Committed: the new bytes, mode 0600, one file.
        let (r, mut f) = Replacing::create(&path).unwrap();
        f.write_all(b"new").unwrap();
        r.commit().unwrap();
        assert_eq!(
            (std::fs::read(&path).unwrap(), names()),
            (b"new".to_vec(), 1)
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
