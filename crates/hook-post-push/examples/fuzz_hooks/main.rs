//! `make fuzz-hooks`: feeds `hook-post-push` and `hook-stop` a million (or `--inputs N`) generated
//! stdin payloads from a seeded generator (valid events with hostile commands, broken JSON, huge and
//! non-UTF-8 input, odd marker files on disk), on every core, and checks every answer.
//!
//! Most inputs run in-process: each `main.rs` is `markers::hookio::hook_main` around `run`, and
//! `hook_main` only reads stdin through `read_stdin_limited`, calls `run`, prints the `stderr` lines
//! and the `stdout` JSON, and exits 0. So the fuzzer passes each payload through
//! `read_stdin_limited` and `run` and checks what `hook_main` would print (`check.rs` defines a valid
//! output), with git's answers seeded (real `git` would mean a million process spawns). Every
//! `--process-every`-th input also runs through the built binaries (`process.rs`), real git
//! included, checking exit code, stdout and stderr bytes.
//!
//! Every step of every input is under a time cap (`watchdog.rs`): an input that takes longer is
//! reported as a hang and fails the run; it never stalls it.
//!
//! Usage: `fuzz_hooks [--inputs N] [--seed S] [--threads T] [--cap-secs C] [--process-every K]
//! [--bin-dir DIR] [--only I]`. Exit 0 when every input was checked with 0 panics, 0 invalid
//! outputs and 0 hangs; 1 otherwise, naming the first failing inputs (input `i` of seed `S` is
//! generated from `S` and `i` alone: `--only i` replays it on fresh markers; the marker directory
//! it met in the full run depends on earlier inputs). `--bin-dir` (or `FUZZ_HOOKS_BIN_DIR`) is
//! where the two binaries are; without it the process runs are skipped and said so.
//!
//! `FUZZ_HOOKS_PLANT=panic|invalid|hang` plants that fault into every 9,973rd in-process
//! hook-post-push answer, to show the fuzzer fails when a hook misbehaves.

mod check;
mod generate;
mod process;
mod watchdog;

use check::Hook;
use generate::{CONFIG_SHAPES, Kind, MARKER_SHAPES, Places, Rng, SeededGit};
use markers::{ExitStatus, Timestamp};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watchdog::Slot;

struct Options {
    inputs: u64,
    seed: u64,
    threads: u64,
    cap: Duration,
    process_every: u64,
    bin_dir: Option<PathBuf>,
    only: Option<u64>,
    plant: Option<String>,
}

#[derive(Default)]
struct Totals {
    done: AtomicU64,
    process_runs: AtomicU64,
    panics: AtomicU64,
    invalid: AtomicU64,
    hangs: AtomicU64,
    /// Inputs of each `Kind::ALL`, and the wall time they took (ns).
    kinds: [AtomicU64; Kind::ALL.len()],
    kind_ns: [AtomicU64; Kind::ALL.len()],
    /// Odd markers planted, by `MARKER_SHAPES`; odd configs, by `CONFIG_SHAPES`.
    shapes: [AtomicU64; MARKER_SHAPES.len()],
    configs: [AtomicU64; CONFIG_SHAPES.len()],
    /// In-process answers that armed the gate (post-push printed), blocked, or let go with a message.
    armed: AtomicU64,
    blocked: AtomicU64,
    messages: AtomicU64,
    done_quietly: AtomicU64,
    /// (ms, input) of the slowest input.
    slowest: Mutex<(u64, u64)>,
    failures: Mutex<Vec<String>>,
}

impl Totals {
    fn fail(&self, counter: &AtomicU64, what: String) {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() < 10 {
            f.push(what);
        }
    }
}

/// What every input of one worker shares.
struct Worker<'a> {
    seed: u64,
    places: Places,
    base: PathBuf,
    bufs: &'a (Vec<u8>, Vec<u8>),
    totals: &'a Totals,
    slot: &'a Slot,
    clock: Instant,
    runner: Option<process::Runner>,
    opts: &'a Options,
}

/// One input: odd markers maybe, then the payload through both hooks (and, for every
/// `process_every`-th input, through both binaries).
fn one_input(i: u64, w: &Worker) {
    let started = Instant::now();
    w.slot.start(w.clock, i);
    let mut rng = Rng::for_input(w.seed, i);
    if rng.chance(15) {
        let project = &w.places.projects[rng.below(w.places.projects.len() as u64) as usize];
        if let Ok(root) = markers::project_root(project)
            && let Ok(store) = markers::MarkerStore::open_in(&w.base, &root)
        {
            let shape = generate::odd_markers(&mut rng, store.dir(), &w.bufs.1);
            w.totals.shapes[shape].fetch_add(1, Ordering::Relaxed);
        }
    }
    if rng.chance(5) {
        let shape = generate::odd_config(&mut rng, &w.places);
        w.totals.configs[shape].fetch_add(1, Ordering::Relaxed);
    }
    w.slot.step(w.clock, 2);
    let (input, kind) = generate::payload(&mut rng, &w.places, &w.bufs.0);
    let input = Arc::new(input);
    if w.opts.only.is_some() {
        let head = String::from_utf8_lossy(&input[..input.len().min(400)]).into_owned();
        println!(
            "input {i}: {}, {} bytes: {head:?}",
            kind.label(),
            input.len()
        );
    }
    w.slot.payload(&input);
    let git = SeededGit::new(&mut rng);
    let project_dir = rng.chance(20).then(|| w.places.projects[0].clone());
    let now = match rng.below(20) {
        0 => Timestamp(0),
        1 => Timestamp(u64::MAX / 2),
        _ => Timestamp::now(),
    };
    w.slot.step(w.clock, 3);
    let post = catch_unwind(AssertUnwindSafe(|| {
        let input = markers::hookio::read_stdin_limited(&input[..]).expect("reading a slice");
        let ctx = hook_post_push::Context {
            git: &git,
            project_dir: project_dir.clone(),
            marker_base: Some(w.base.clone()),
        };
        let mut out = hook_post_push::run(&input, &ctx);
        plant(w.opts.plant.as_deref(), i, &mut out);
        if out.stdout.is_some() {
            w.totals.armed.fetch_add(1, Ordering::Relaxed);
        }
        if w.opts.only.is_some() {
            println!("hook-post-push answered: {out:?}");
        }
        check::post_push(&out)
    }));
    w.slot.step(w.clock, 4);
    let stop = catch_unwind(AssertUnwindSafe(|| {
        let input = markers::hookio::read_stdin_limited(&input[..]).expect("reading a slice");
        let ctx = hook_stop::Context {
            project_dir: project_dir.clone(),
            marker_base: Some(w.base.clone()),
            now,
        };
        let out = hook_stop::run(&input, &ctx);
        match (out.decision, &out.stdout) {
            (hook_stop::Decision::Block, _) => &w.totals.blocked,
            (_, Some(_)) => &w.totals.messages,
            (_, None) => &w.totals.done_quietly,
        }
        .fetch_add(1, Ordering::Relaxed);
        if w.opts.only.is_some() {
            println!("hook-stop answered: {out:?}");
        }
        check::stop(&out)
    }));
    for (hook, r) in Hook::ALL.into_iter().zip([post, stop]) {
        let what = format!(
            "input {i} (seed {}, {}), {}",
            w.seed,
            kind.label(),
            hook.name()
        );
        match r {
            Ok(Ok(())) => {}
            Ok(Err(why)) => w.totals.fail(&w.totals.invalid, format!("{what}: {why}")),
            Err(_) => w.totals.fail(&w.totals.panics, format!("{what}: panicked")),
        }
    }
    if let Some(runner) = &w.runner
        && (i.is_multiple_of(w.opts.process_every) || w.opts.only.is_some())
    {
        for (step, hook) in [(5, Hook::PostPush), (6, Hook::Stop)] {
            w.slot.step(w.clock, step);
            process_input(i, kind, hook, &input, project_dir.as_deref(), runner, w);
        }
    }
    w.slot.finish();
    let at = Kind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is listed");
    w.totals.kinds[at].fetch_add(1, Ordering::Relaxed);
    let took = started.elapsed();
    w.totals.kind_ns[at].fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    let ms = took.as_millis() as u64;
    let mut slowest = w.totals.slowest.lock().unwrap_or_else(|e| e.into_inner());
    if ms > slowest.0 {
        *slowest = (ms, i);
    }
    drop(slowest);
    w.totals.done.fetch_add(1, Ordering::Relaxed);
}

fn process_input(
    i: u64,
    kind: Kind,
    hook: Hook,
    input: &[u8],
    project_dir: Option<&Path>,
    runner: &process::Runner,
    w: &Worker,
) {
    let (t, name, seed) = (w.totals, hook.name(), w.seed);
    let run = match runner.run(name, input, project_dir, w.opts.cap) {
        Ok(r) => r,
        Err(e) => {
            let what = format!(
                "input {i} (seed {seed}, {}), {name} process: could not run it: {e}",
                kind.label()
            );
            return t.fail(&t.invalid, what);
        }
    };
    t.process_runs.fetch_add(1, Ordering::Relaxed);
    let what = |why: &str| {
        format!(
            "input {i} (seed {seed}, {}), {name} process: {why}",
            kind.label()
        )
    };
    if run.timed_out {
        let cap = w.opts.cap.as_secs_f64();
        t.fail(&t.hangs, what(&format!("killed after the {cap:.1} s cap")));
    } else if run.code == Some(101) || String::from_utf8_lossy(&run.stderr).contains("panicked") {
        t.fail(&t.panics, what("panicked"));
    } else if let Err(why) = check::process(hook, run.code, &run.stdout, &run.stderr) {
        t.fail(&t.invalid, what(&why));
    }
}

/// `FUZZ_HOOKS_PLANT`: a deliberately broken answer now and then, to show the fuzzer notices.
fn plant(kind: Option<&str>, i: u64, out: &mut hook_post_push::Outcome) {
    if i % 9973 != 17 {
        return;
    }
    match kind {
        Some("panic") => panic!("planted panic at input {i}"),
        Some("invalid") => out.stdout = Some("{\"continue\":tru".into()),
        Some("hang") => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        _ => {}
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    Some(args.get(at + 1).cloned().unwrap_or_default())
}

fn number(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match arg(args, name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name} takes a number, not {v:?}")),
    }
}

fn options() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let known = [
        "--inputs",
        "--seed",
        "--threads",
        "--cap-secs",
        "--process-every",
        "--bin-dir",
        "--only",
    ];
    if let Some(a) = args
        .iter()
        .step_by(2)
        .find(|a| !known.contains(&a.as_str()))
    {
        return Err(format!(
            "unknown argument {a:?} (flags: {})",
            known.join(" ")
        ));
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
    Ok(Options {
        inputs: number(&args, "--inputs", 1_000_000)?,
        seed: number(&args, "--seed", 20)?,
        threads: number(&args, "--threads", cores)?.max(1),
        cap: Duration::from_secs(number(&args, "--cap-secs", 10)?.max(1)),
        process_every: number(&args, "--process-every", 100)?,
        // absolute, because the fuzzer runs in a temporary directory
        bin_dir: arg(&args, "--bin-dir")
            .or_else(|| std::env::var("FUZZ_HOOKS_BIN_DIR").ok())
            .filter(|d| !d.is_empty())
            .map(|d| std::path::absolute(&d).unwrap_or_else(|_| d.into())),
        only: arg(&args, "--only")
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("--only takes a number, not {v:?}"))
            })
            .transpose()?,
        plant: std::env::var("FUZZ_HOOKS_PLANT")
            .ok()
            .filter(|p| !p.is_empty()),
    })
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fuzz-hooks: {e}");
            return ExitStatus::Error.into();
        }
    };
    if let Some(dir) = &opts.bin_dir
        && Hook::ALL.iter().any(|h| !dir.join(h.name()).is_file())
    {
        eprintln!(
            "fuzz-hooks: {} lacks hook-post-push or hook-stop",
            dir.display()
        );
        return ExitStatus::Error.into();
    }
    // Keep the default hook quiet: panics are caught, counted and reported below.
    std::panic::set_hook(Box::new(|_| {}));
    // A hung input's payload is kept next to the build (`make fuzz-hooks` runs from the repo root).
    let save_dir = std::env::current_dir()
        .map(|d| d.join("target/fuzz-hooks"))
        .ok()
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::tempdir().expect("temp dir");
    std::env::set_current_dir(tmp.path()).expect("cd to the temp dir");
    let totals = Totals::default();
    let clock = Instant::now();
    let (first, step, count) = match opts.only {
        Some(i) => (i, 1, 1),
        None => (0, opts.threads, opts.threads),
    };
    let slots: Arc<Vec<Slot>> = Arc::new((0..count).map(|_| Slot::default()).collect());
    watchdog::spawn(slots.clone(), clock, opts.cap, opts.seed, save_dir);
    let bufs = (
        vec![b' '; markers::hookio::MAX_INPUT_BYTES + 10],
        vec![b'{'; 70 * 1024],
    );
    std::thread::scope(|s| {
        for (n, slot) in slots.iter().enumerate() {
            let (opts, totals, bufs) = (&opts, &totals, &bufs);
            let dir = tmp.path().join(format!("worker-{n}"));
            s.spawn(move || {
                let w = Worker {
                    seed: opts.seed,
                    places: generate::setup(&dir),
                    base: dir.join("markers"),
                    bufs,
                    totals,
                    slot,
                    clock,
                    runner: (opts.process_every > 0)
                        .then_some(opts.bin_dir.as_deref())
                        .flatten()
                        .map(|b| process::Runner::new(b, &dir)),
                    opts,
                };
                let end = if opts.only.is_some() {
                    first + 1
                } else {
                    opts.inputs
                };
                let mut i = first + n as u64;
                while i < end {
                    // A fresh marker tree now and then, so record files do not pile up.
                    if (i / step).is_multiple_of(2000) {
                        let _ = std::fs::remove_dir_all(&w.base);
                    }
                    one_input(i, &w);
                    i += step;
                }
            });
        }
    });
    report(&opts, &totals, clock.elapsed())
}

fn report(opts: &Options, t: &Totals, took: Duration) -> ExitCode {
    let secs = took.as_secs_f64();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (done, runs) = (load(&t.done), load(&t.process_runs));
    let (panics, invalid, hangs) = (load(&t.panics), load(&t.invalid), load(&t.hangs));
    let slowest = *t.slowest.lock().unwrap_or_else(|e| e.into_inner());
    let processes = match (&opts.bin_dir, opts.process_every) {
        (Some(_), k) if k > 0 => {
            format!("{runs} real process runs (every {k}th input, through both binaries)")
        }
        _ => "no real process runs (no --bin-dir)".into(),
    };
    println!(
        "fuzz-hooks: {done} inputs, each to hook-post-push and hook-stop ({} hook runs); {processes}; \
         seed {}, {} threads, cap {:.0} s per step, {secs:.1} s ({:.0} inputs/s), slowest input {} ms (#{})",
        done * 2,
        opts.seed,
        opts.threads,
        opts.cap.as_secs_f64(),
        done as f64 / secs,
        slowest.0,
        slowest.1,
    );
    let kinds: Vec<String> = Kind::ALL
        .iter()
        .zip(&t.kinds)
        .zip(&t.kind_ns)
        .map(|((k, n), ns)| {
            let (n, ns) = (load(n), load(ns));
            format!(
                "{} {n} ({:.0} µs each)",
                k.label(),
                ns as f64 / 1e3 / n.max(1) as f64
            )
        })
        .collect();
    println!("fuzz-hooks: inputs: {}", kinds.join(", "));
    let shapes: Vec<String> = MARKER_SHAPES
        .iter()
        .zip(&t.shapes)
        .map(|(s, n)| format!("{s} {}", load(n)))
        .collect();
    println!("fuzz-hooks: odd markers planted: {}", shapes.join(", "));
    let configs: Vec<String> = CONFIG_SHAPES
        .iter()
        .zip(&t.configs)
        .map(|(s, n)| format!("{s} {}", load(n)))
        .collect();
    println!(
        "fuzz-hooks: harness.toml of the last project replaced by: {}",
        configs.join(", ")
    );
    println!(
        "fuzz-hooks: answers: hook-post-push armed the gate {} times; hook-stop blocked {}, let go with a message {}, allowed silently {}",
        load(&t.armed),
        load(&t.blocked),
        load(&t.messages),
        load(&t.done_quietly)
    );
    println!("fuzz-hooks: {panics} panics, {invalid} invalid outputs, {hangs} hangs");
    for f in t.failures.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  {f}");
    }
    let want = if opts.only.is_some() { 1 } else { opts.inputs };
    if panics + invalid + hangs == 0 && done == want {
        println!("fuzz-hooks: PASS");
        ExitStatus::Pass.into()
    } else {
        println!("fuzz-hooks: FAIL");
        ExitStatus::Fail.into()
    }
}
