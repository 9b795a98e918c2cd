//! Where a command's report goes (`--output FILE`, else standard output).
//!
//! A file is checked when the command starts, before any input is read: a path in
//! a directory that does not exist, or that cannot be written, fails the run at once
//! rather than after a month of logs. The report is written to a temporary file
//! beside it and renamed over it only once it is complete, so a run that fails (bad
//! input, a full disk, Ctrl-C) leaves an earlier report as it was, and a reader
//! never sees half a report. The temporary file is removed when the run fails with
//! an error; a run killed by a signal leaves it behind (`.NAME.XXXXXX.tmp`). A path
//! that is not a regular file (`/dev/stdout`, a named pipe) is opened at the start
//! and written in place.

use anyhow::Context;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The buffer between a renderer and its destination: reports are written as they
/// are rendered, a month's report being megabytes.
const BUFFER: usize = 1 << 16;

/// An opened report destination; [`Output::write`] puts the report there.
#[derive(Debug)]
pub struct Output {
    to: To,
}

#[derive(Debug)]
enum To {
    Stdout,
    /// A regular file, or a new one: written to `tmp`, then renamed to `target`.
    Replace {
        shown: PathBuf,
        target: PathBuf,
        tmp: tempfile::NamedTempFile,
    },
    /// Not a regular file: written in place.
    InPlace {
        shown: PathBuf,
        file: File,
    },
}

impl Output {
    /// Opens `path` (`None`: standard output). Call it before reading the inputs.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output { to: To::Stdout });
        };
        let cannot = || format!("cannot write {}", path.display());
        // What the path names now, through any link.
        let existing = std::fs::metadata(path).ok();
        // `out/`, `..` or an empty path name a directory, whether it exists or not.
        let names_a_directory = path.file_name().is_none()
            || path
                .as_os_str()
                .as_encoded_bytes()
                .last()
                .is_some_and(|&b| std::path::is_separator(char::from(b)));
        let is_dir = existing.as_ref().is_some_and(std::fs::Metadata::is_dir);
        if is_dir || names_a_directory {
            anyhow::bail!(
                "cannot write {}: it {} a directory\n  hint: --output takes a file name, e.g. \
                 report.json",
                path.display(),
                if is_dir { "is" } else { "names" }
            );
        }
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            // `/dev/stdout`, a named pipe: nothing to replace.
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(cannot)?;
            return Ok(Output {
                to: To::InPlace {
                    shown: path.to_path_buf(),
                    file,
                },
            });
        }
        let target = link_target(path).with_context(cannot)?;
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        if !dir.is_dir() {
            anyhow::bail!(
                "cannot write {}: the directory {} does not exist\n  hint: create it first \
                 (`mkdir -p {}`), or give another --output",
                path.display(),
                dir.display(),
                dir.display()
            );
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A new report gets the mode a plain create would give it (0666 less the
        // umask), not a temporary file's 0600; a replaced one keeps its own.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        if existing.is_some() {
            // A report its owner made read-only is not replaced behind their back.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .with_context(cannot)?;
        }
        let tmp = builder.tempfile_in(dir).with_context(cannot)?;
        if let Some(meta) = existing {
            tmp.as_file()
                .set_permissions(meta.permissions())
                .with_context(cannot)?;
        }
        Ok(Output {
            to: To::Replace {
                shown: path.to_path_buf(),
                target,
                tmp,
            },
        })
    }

    /// Whether the report goes to a file rather than standard output.
    pub fn is_file(&self) -> bool {
        !matches!(self.to, To::Stdout)
    }

    /// Writes the report with `render`, then puts it in place. When `render` or a
    /// write fails, a file being replaced is left as it was.
    pub fn write(
        self,
        render: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self.to {
            To::Stdout => fill(std::io::stdout().lock(), render)
                .map(drop)
                .context("cannot write the report to standard output"),
            To::InPlace { shown, file } => fill(file, render)
                .map(drop)
                .with_context(|| format!("cannot write {}", shown.display())),
            To::Replace { shown, target, tmp } => {
                let cannot = || format!("cannot write {}", shown.display());
                let tmp = fill(tmp, render).with_context(cannot)?;
                tmp.persist(&target)
                    .map_err(|e| e.error)
                    .with_context(cannot)?;
                Ok(())
            }
        }
    }
}

/// `render` written into `inner` through a buffer, flushed; `inner` given back.
fn fill<W: Write>(
    inner: W,
    render: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<W> {
    let mut out = BufWriter::with_capacity(BUFFER, inner);
    render(&mut out)?;
    Ok(out.into_inner().map_err(|e| e.into_error())?)
}

/// The file a path names through its links (itself when it is none), whether that
/// file exists yet or not: a link to a report not yet written makes it.
fn link_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    // As many links as the kernel follows before it gives up.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let to = std::fs::read_link(&at)?;
                // A relative link is relative to its own directory.
                at = at.parent().map_or_else(|| to.clone(), |dir| dir.join(&to));
            }
            _ => return Ok(at),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_failed_render_keeps_the_old_file_and_leaves_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let out = Output::open(Some(&path)).unwrap();
        let err = out
            .write(|w| {
                w.write_all(b"half a rep")?;
                anyhow::bail!("bad input")
            })
            .unwrap_err();
        assert!(format!("{err:#}").contains("bad input"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    }

    #[test]
    fn a_report_replaces_the_old_one_whole_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "an older and longer report").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        let out = Output::open(Some(&path)).unwrap();
        assert!(out.is_file());
        out.write(|w| Ok(w.write_all(b"new")?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
    }

    #[cfg(unix)]
    #[test]
    fn through_a_link_the_file_is_replaced_and_the_link_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        Output::open(Some(&link))
            .unwrap()
            .write(|w| Ok(w.write_all(b"new")?))
            .unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_report_not_yet_written_makes_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        let link = dir.path().join("latest.json");
        // Relative to the link's own directory, not to the working one.
        std::os::unix::fs::symlink("reports/2026-11.json", &link).unwrap();
        Output::open(Some(&link))
            .unwrap()
            .write(|w| Ok(w.write_all(b"new")?))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("reports/2026-11.json")).unwrap(),
            "new"
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A loop of links is an error when the command starts.
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let err = format!("{:#}", Output::open(Some(&a)).unwrap_err());
        assert!(
            err.contains("cannot write") && err.contains("symbolic links"),
            "{err}"
        );
    }

    /// Paths that name a directory, existing or not, fail when the command starts,
    /// not when the report is put in place.
    #[test]
    fn a_path_naming_a_directory_fails_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let missing = format!("{}/reports/", dir.path().display());
        for path in ["", "..", "/", missing.as_str()] {
            let err = format!("{:#}", Output::open(Some(Path::new(path))).unwrap_err());
            assert!(
                err.contains("a directory") && err.contains("hint:"),
                "{path:?}: {err}"
            );
        }
    }

    #[test]
    fn a_missing_directory_fails_at_open_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("report.json");
        let err = format!("{:#}", Output::open(Some(&path)).unwrap_err());
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains("mkdir -p"), "{err}");
        assert!(err.contains("report.json"), "{err}");
    }

    #[test]
    fn a_directory_is_not_a_report_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", Output::open(Some(dir.path())).unwrap_err());
        assert!(err.contains("is a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place() {
        let out = Output::open(Some(Path::new("/dev/null"))).unwrap();
        out.write(|w| Ok(w.write_all(b"report")?)).unwrap();
        assert!(Path::new("/dev/null").exists());
    }
}
