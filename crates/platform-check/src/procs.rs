//! Every process a check starts runs in its own process group, registered here, so that every way
//! out — success, an error, a panic, Ctrl-C, SIGTERM — stops the whole group (uvicorn's workers,
//! PostgreSQL's backends, Schemathesis's threads) and nothing is left running.

use crate::error::StepError;
use crate::phase::Phase;
use rustix::process::{Pid, Signal, kill_process_group};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Process groups alive right now, and scratch directories to remove on a signal.
static LIVE: Mutex<Vec<(i32, Signal)>> = Mutex::new(Vec::new());
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Set first thing on a signal: the main thread must then not report the children it sees dying
/// as a failed phase (and exit 2) before the handler finishes and exits 130.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the list must not stop the cleanup of the others.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills process group `pgid` with `sig`; false when no such group remains.
fn signal_group(pgid: i32, sig: Signal) -> bool {
    match Pid::from_raw(pgid) {
        Some(pid) => kill_process_group(pid, sig).is_ok(),
        None => false,
    }
}

/// Sends `first` to the group, waits up to `grace` for it to disappear, then SIGKILLs it. The
/// leader, when it is our child, is reaped meanwhile (a zombie still counts as a group member).
fn stop_group(pgid: i32, first: Signal, grace: Duration, mut leader: Option<&mut Child>) {
    if !signal_group(pgid, first) {
        return;
    }
    let t = Instant::now();
    while t.elapsed() < grace {
        match leader.as_deref_mut() {
            Some(c) => {
                let _ = c.try_wait();
            }
            // The signal handler has no Child: reap the leader by pid so its zombie does not
            // keep the group "alive" for the whole grace period.
            None => {
                let _ = rustix::process::waitpid(
                    Pid::from_raw(pgid),
                    rustix::process::WaitOptions::NOHANG,
                );
            }
        }
        let alive = Pid::from_raw(pgid)
            .is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok());
        if !alive {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(pgid, Signal::KILL);
}

/// Remembers a scratch directory to delete if a signal ends the run.
pub fn register_scratch(dir: &Path) {
    lock(&SCRATCH).push(dir.to_path_buf());
}

/// Forgets a scratch directory (its owner removes it).
pub fn forget_scratch(dir: &Path) {
    lock(&SCRATCH).retain(|d| d != dir);
}

/// On SIGINT, SIGTERM or SIGHUP: stop every live group, remove the scratch directories, exit 130.
/// Children run in their own groups, so a terminal's Ctrl-C reaches only us and we pass it on.
pub fn install_signal_handler() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!("platform-check: interrupted; stopping everything it started");
            // Newest first: the app before its database.
            let groups: Vec<(i32, Signal)> = lock(&LIVE).clone();
            for (g, sig) in groups.iter().rev() {
                stop_group(*g, *sig, Duration::from_secs(5), None);
            }
            for d in lock(&SCRATCH).iter() {
                let _ = std::fs::remove_dir_all(d);
            }
            std::process::exit(130);
        });
    });
}

/// A running process group; dropping it stops the group.
#[derive(Debug)]
pub struct Group {
    pub name: String,
    child: Child,
    pgid: i32,
    stop_signal: Signal,
    pub log: PathBuf,
}

impl Group {
    /// Spawns `cmd` as the leader of a new process group, stdout+stderr appended to `log`.
    /// `stop_signal` is what asks it to stop (PostgreSQL: SIGQUIT for an immediate stop of a
    /// throwaway cluster; everything else: SIGTERM).
    pub fn spawn(
        phase: Phase,
        name: &str,
        cmd: Command,
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Group, StepError> {
        Group::spawn_split(phase, name, cmd, None, log, stop_signal)
    }

    /// Like [`Group::spawn`], with stdout to its own file when `stdout` is given (a tool's
    /// machine-readable output kept apart from its log).
    pub fn spawn_split(
        phase: Phase,
        name: &str,
        mut cmd: Command,
        stdout: Option<&Path>,
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Group, StepError> {
        let open_err = |p: &Path, e: std::io::Error| {
            StepError::new(phase, format!("cannot open {}: {e}", p.display()))
        };
        let err = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| open_err(log, e))?;
        let out = match stdout {
            Some(p) => File::create(p).map_err(|e| open_err(p, e))?,
            None => err.try_clone().map_err(|e| open_err(log, e))?,
        };
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // Register under the lock so a signal arriving between spawn and push still sees it.
        let mut live = lock(&LIVE);
        let child = cmd.spawn().map_err(|e| {
            StepError::new(
                phase,
                format!("cannot start {name} ({:?}): {e}", cmd.get_program()),
            )
        })?;
        let pgid = child.id() as i32;
        live.push((pgid, stop_signal));
        Ok(Group {
            name: name.to_string(),
            child,
            pgid,
            stop_signal,
            log: log.to_path_buf(),
        })
    }

    /// The exit status if the leader has exited. After a signal this never returns: the handler
    /// is stopping everything and will exit 130.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten();
        while INTERRUPTED.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_secs(1));
        }
        status
    }

    /// Waits for the leader, stopping the group after `limit` (None: no limit). Returns the
    /// status, or None when the limit was hit.
    pub fn wait(&mut self, limit: Option<Duration>) -> Option<ExitStatus> {
        let t = Instant::now();
        loop {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            if limit.is_some_and(|l| t.elapsed() >= l) {
                self.stop();
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the whole group (idempotent).
    pub fn stop(&mut self) {
        stop_group(
            self.pgid,
            self.stop_signal,
            Duration::from_secs(10),
            Some(&mut self.child),
        );
        let _ = self.child.wait();
        // Orphans of the leader (forked workers) die with the group's SIGKILL fallback.
        signal_group(self.pgid, Signal::KILL);
        lock(&LIVE).retain(|(g, _)| *g != self.pgid);
    }

    pub fn pgid(&self) -> i32 {
        self.pgid
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `cmd` to completion in its own group with output appended to `log`; a non-zero exit (or
/// going over `limit`) is a [`StepError`] for `phase` carrying the log's last lines.
pub fn run_logged(
    phase: Phase,
    what: &str,
    cmd: Command,
    log: &Path,
    limit: Option<Duration>,
) -> Result<(), StepError> {
    let mut g = Group::spawn(phase, what, cmd, log, Signal::TERM)?;
    match g.wait(limit) {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(StepError::new(phase, format!("{what} failed ({s})")).with_log(log)),
        None => Err(StepError::new(
            phase,
            format!(
                "{what} did not finish within {} s",
                limit.unwrap_or_default().as_secs()
            ),
        )
        .with_log(log)),
    }
}

/// Number of process groups this process has alive (tests: nothing left after a run).
pub fn live_groups() -> usize {
    lock(&LIVE).len()
}
