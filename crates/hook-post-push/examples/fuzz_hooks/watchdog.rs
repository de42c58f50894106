//! The per-input time cap: a stuck input is a failure with a name, never a silent stall.
//!
//! A thread cannot be killed, so when any worker spends longer than the cap on one input the
//! watchdog reports that input (index, seed, the step it is in, its payload saved to a file for
//! `--only`) and ends the whole process with exit 1.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a worker is doing, in the order `one_input` does it.
pub const STEPS: &[&str] = &[
    "idle",
    "planting odd markers or config",
    "generating",
    "hook-post-push",
    "hook-stop",
    "a hook-post-push process",
    "a hook-stop process",
];
/// Steps from here on are process runs.
pub const PROCESS_STEPS: usize = 5;

/// One worker's current input, as the watchdog sees it.
#[derive(Default)]
pub struct Slot {
    /// Input index + 1 (0 = between inputs).
    input: AtomicU64,
    /// When the input started, in ms since the run started.
    since_ms: AtomicU64,
    step: AtomicUsize,
    payload: Mutex<Option<Arc<Vec<u8>>>>,
}

impl Slot {
    pub fn start(&self, clock: Instant, i: u64) {
        self.since_ms
            .store(clock.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.step.store(1, Ordering::Relaxed);
        self.input.store(i + 1, Ordering::Release);
    }
    /// A new step: the cap applies to each step on its own.
    pub fn step(&self, clock: Instant, step: usize) {
        self.since_ms
            .store(clock.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.step.store(step, Ordering::Relaxed);
    }
    pub fn payload(&self, p: &Arc<Vec<u8>>) {
        *self.payload.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
    }
    pub fn finish(&self) {
        self.input.store(0, Ordering::Release);
    }
}

/// Watches `slots` until the process ends; exits 1 on the first input over `cap`.
pub fn spawn(slots: Arc<Vec<Slot>>, clock: Instant, cap: Duration, seed: u64, save_dir: PathBuf) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = clock.elapsed().as_millis() as u64;
            for (w, slot) in slots.iter().enumerate() {
                let input = slot.input.load(Ordering::Acquire);
                let since = slot.since_ms.load(Ordering::Relaxed);
                let step_at = slot.step.load(Ordering::Relaxed);
                // A process step kills its child at the cap itself and counts a hang; the
                // watchdog only steps in if that did not work.
                let limit = if step_at >= PROCESS_STEPS {
                    cap * 2
                } else {
                    cap
                };
                if input == 0 || now.saturating_sub(since) <= limit.as_millis() as u64 {
                    continue;
                }
                let i = input - 1;
                let step = STEPS[step_at.min(STEPS.len() - 1)];
                let saved = slot
                    .payload
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .map(|p| {
                        let path =
                            save_dir.join(format!("fuzz-hooks-hang-seed{seed}-input{i}.bin"));
                        match std::fs::write(&path, &p[..]) {
                            Ok(()) => {
                                format!("payload ({} bytes) saved to {}", p.len(), path.display())
                            }
                            Err(e) => format!("payload not saved: {e}"),
                        }
                    })
                    .unwrap_or_else(|| "payload not generated yet".into());
                println!(
                    "fuzz-hooks: HANG: input {i} (seed {seed}, worker {w}) spent over {:.1} s in {step}; {saved}",
                    limit.as_secs_f64()
                );
                println!("fuzz-hooks: FAIL (1 hang); replay with --seed {seed} --only {i}");
                std::process::exit(1);
            }
        }
    });
}
