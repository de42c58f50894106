//! Finds the project a command ran in: the canonical git top-level above a directory.
//!
//! Walks up looking for `.git` (a directory, or a file for worktrees and submodules) instead of
//! spawning `git`, because the hooks run after every Bash call and must stay fast.

use std::path::{Path, PathBuf};

/// Why no project root was found.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The starting directory could not be canonicalized.
    #[error("cannot resolve directory {path}: {source}")]
    Resolve {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// No `.git` above the directory.
    #[error("{0} is not inside a git repository")]
    NotARepo(PathBuf),
}

/// The canonical git top-level containing `start` (symlinks resolved, so two spellings of one
/// project share one marker directory).
pub fn project_root(start: &Path) -> Result<PathBuf, ProjectError> {
    let canon = start
        .canonicalize()
        .map_err(|source| ProjectError::Resolve {
            path: start.to_path_buf(),
            source,
        })?;
    let mut dir: &Path = &canon;
    loop {
        if dir.join(".git").exists() {
            return Ok(dir.to_path_buf());
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return Err(ProjectError::NotARepo(canon)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_from_a_subdirectory_and_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&repo, &link).unwrap();
        let want = repo.canonicalize().unwrap();
        assert_eq!(project_root(&repo.join("a/b")).unwrap(), want);
        assert_eq!(project_root(&link.join("a")).unwrap(), want);
    }

    #[test]
    fn worktree_git_file_counts() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(".git"), "gitdir: /elsewhere\n").unwrap();
        assert_eq!(
            project_root(tmp.path()).unwrap(),
            tmp.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn outside_a_repo_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        // tempdirs live under /tmp, which is not a repository on our machines
        match project_root(tmp.path()) {
            Err(ProjectError::NotARepo(_)) => {}
            Ok(p) if p.join(".git").exists() && !p.starts_with(tmp.path()) => {} // an odd host
            other => panic!("unexpected: {other:?}"),
        }
        assert!(matches!(
            project_root(&tmp.path().join("missing")),
            Err(ProjectError::Resolve { .. })
        ));
    }
}
