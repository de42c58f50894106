//! Real process runs: a share of the inputs also goes through the built `hook-post-push` and
//! `hook-stop` binaries, to prove that what the binaries do (stdin, exit code, the bytes on stdout
//! and stderr) matches what the in-process runs check.
//!
//! stdout and stderr go to per-worker files rather than pipes, so a child that writes a lot can never
//! block on a full pipe while we wait for it; the child is killed when it exceeds the time cap.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where one worker runs its processes, and what it hands them.
pub struct Runner {
    pub bin_dir: PathBuf,
    pub marker_base: PathBuf,
    pub cwd: PathBuf,
    out: PathBuf,
    err: PathBuf,
}

/// What one process run produced.
pub struct Run {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Killed at the time cap.
    pub timed_out: bool,
}

impl Runner {
    pub fn new(bin_dir: &Path, worker_dir: &Path) -> Self {
        Runner {
            bin_dir: bin_dir.to_path_buf(),
            marker_base: worker_dir.join("process-markers"),
            cwd: worker_dir.to_path_buf(),
            out: worker_dir.join("process.stdout"),
            err: worker_dir.join("process.stderr"),
        }
    }

    /// Runs `hook` with `input` on stdin; `project_dir` becomes `CLAUDE_PROJECT_DIR`.
    pub fn run(
        &self,
        hook: &str,
        input: &[u8],
        project_dir: Option<&Path>,
        cap: Duration,
    ) -> std::io::Result<Run> {
        let (out, err) = (File::create(&self.out)?, File::create(&self.err)?);
        let mut cmd = Command::new(self.bin_dir.join(hook));
        cmd.current_dir(&self.cwd)
            .env("HARNESS_MARKER_DIR", &self.marker_base)
            .env_remove("CLAUDE_PROJECT_DIR")
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err);
        if let Some(p) = project_dir {
            cmd.env("CLAUDE_PROJECT_DIR", p);
        }
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        // Past the pipe buffer a write blocks until the child reads, so large inputs get a thread.
        let writer = if input.len() <= 32 * 1024 {
            let _ = stdin.write_all(input); // a child that exits early closes the pipe: fine
            drop(stdin);
            None
        } else {
            let input = input.to_vec();
            Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            }))
        };
        let deadline = Instant::now() + cap;
        let mut pause = Duration::from_micros(100);
        let (status, timed_out) = loop {
            if let Some(s) = child.try_wait()? {
                break (s, false);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                break (child.wait()?, true);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        let read = |p: &Path| -> std::io::Result<Vec<u8>> {
            let mut f = File::open(p)?;
            f.rewind()?;
            let mut b = Vec::new();
            f.read_to_end(&mut b)?;
            Ok(b)
        };
        Ok(Run {
            code: status.code(),
            stdout: read(&self.out)?,
            stderr: read(&self.err)?,
            timed_out,
        })
    }
}
