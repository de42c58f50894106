//! `make fuzz-hooks`: feeds `hook-post-push` and `hook-stop` a million (or `--inputs N`) generated
//! stdin payloads in-process, on every core, from a seeded generator, with odd markers planted on
//! disk, and checks every answer.
//!
//! In-process is the same code as the binaries: each `main.rs` is `markers::hookio::hook_main`
//! around `run`, and `hook_main` only reads stdin through `read_stdin_limited`, calls `run`, prints
//! `stderr` lines and the `stdout` JSON, and returns exit 0 whatever `run` answered. So the fuzzer
//! passes each payload through `read_stdin_limited` and `run`, and checks what `hook_main` would
//! print; a panic (the only way to a non-zero exit) is caught and counted. Only git is replaced by
//! seeded answers (real `git` would mean a million process spawns).
//!
//! Usage: `fuzz_hooks [--inputs N] [--seed S] [--threads T]`. Exit 0 when there were 0 panics and 0
//! invalid outputs; 1 otherwise, naming the first few failing input indices (input `i` of seed `S`
//! is generated from `S` and `i` alone; the marker directory it met depends on earlier inputs).

use hook_post_push::git::{GitFacts, PrInfo};
use markers::{ExitStatus, Timestamp};
use serde_json::{Value, json};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// SplitMix64: tiny, seedable, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn for_input(seed: u64, index: u64) -> Self {
        Rng(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Shell words a hostile agent (or a confused one) might run; mixed into command lines.
const WORDS: &[&str] = &[
    "git",
    "push",
    "origin",
    "main",
    "staging",
    "master",
    "HEAD:main",
    "HEAD:staging",
    "+main",
    "refs/heads/main",
    ":main",
    "main:main",
    "-C",
    "--force",
    "-u",
    "--tags",
    "--delete",
    "gh",
    "pr",
    "merge",
    "42",
    "--repo",
    "o/r",
    "--squash",
    "&&",
    "||",
    ";",
    "|",
    "&",
    "(",
    ")",
    "{",
    "}",
    "#",
    "echo",
    "cd",
    "/",
    "..",
    "bash",
    "-c",
    "sh",
    "'git push origin main'",
    "\"git push\"",
    "$(git push)",
    "`git push`",
    "<<EOF\ngit push\nEOF\n",
    "\\",
    "\"",
    "'",
    "${x:-main}",
    "$HOME",
    "~",
    "*",
    "?",
    "[",
    "]",
    "if",
    "then",
    "fi",
    "for",
    "do",
    "done",
    "while",
    "!",
    "2>&1",
    ">/dev/null",
    "<",
    ">>",
    "\n",
    "\t",
    "\u{0}",
    "\u{202e}",
    "ü",
    "日本",
    "🚀",
    "--",
    "=",
    "x=1",
    "env",
    "exec",
    "time",
];

fn command(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(60) {
        s.push_str(rng.pick(&[
            "git push origin main",
            "git push",
            "git push origin HEAD:staging",
            "gh pr merge 7 --squash",
            "cd sub && git push origin main",
            "git -C . push origin master",
            "bash -c 'git push origin main'",
        ]));
    }
    for _ in 0..rng.below(24) {
        s.push(' ');
        s.push_str(rng.pick(WORDS));
    }
    if rng.chance(2) {
        s.push_str(&"(".repeat(rng.below(5000) as usize));
    }
    if rng.chance(1) {
        s.push_str(&"git push origin main && ".repeat(rng.below(2000) as usize));
    }
    s
}

fn hostile_string(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => json!(rng.next()),
        2 => json!([command(rng)]),
        3 => json!({"x": command(rng)}),
        4 => json!(true),
        _ => json!(command(rng)),
    }
}

/// The directories an event may name as its cwd.
struct Places {
    projects: Vec<PathBuf>,
    nowhere: PathBuf,
}

fn cwd(rng: &mut Rng, places: &Places) -> Value {
    match rng.below(20) {
        0 => Value::Null,
        1 => json!(42),
        2 => json!(places.nowhere),
        3 => json!(""),
        4 => json!(format!("{}/\u{0}x", places.projects[0].display())),
        _ => json!(places.projects[rng.below(places.projects.len() as u64) as usize]),
    }
}

fn post_tool_use(rng: &mut Rng, places: &Places) -> Value {
    let response = match rng.below(6) {
        0 => {
            json!({"stdout": "", "stderr": "To origin\n   abc..def  main -> main\n", "interrupted": false})
        }
        1 => json!({"exit_code": rng.below(3)}),
        2 => json!({"stderr": " ! [rejected] main -> main", "interrupted": rng.chance(50)}),
        3 => json!("Everything up-to-date"),
        4 => Value::Null,
        _ => json!({"stdout": command(rng), "stderr": "", "interrupted": false}),
    };
    let mut e = json!({"session_id": "fuzz", "transcript_path": "/tmp/t.jsonl", "cwd": cwd(rng, places),
        "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_input": {"command": command(rng), "description": "d"}, "tool_response": response});
    mutate_fields(rng, &mut e);
    e
}

fn stop(rng: &mut Rng, places: &Places) -> Value {
    let active = match rng.below(6) {
        0 => json!(true),
        1 => json!("true"),
        2 => Value::Null,
        3 => json!(1),
        _ => json!(false),
    };
    let name = if rng.chance(80) {
        "Stop"
    } else {
        "SubagentStop"
    };
    let mut e = json!({"session_id": "fuzz", "transcript_path": "/tmp/t.jsonl", "cwd": cwd(rng, places),
        "hook_event_name": name, "stop_hook_active": active});
    mutate_fields(rng, &mut e);
    e
}

/// Sometimes drops a field or gives it a hostile value of another type.
fn mutate_fields(rng: &mut Rng, e: &mut Value) {
    let keys = [
        "session_id",
        "cwd",
        "hook_event_name",
        "tool_name",
        "tool_input",
        "stop_hook_active",
        "tool_response",
    ];
    let obj = e.as_object_mut().expect("events are objects");
    for _ in 0..rng.below(3) {
        let key = keys[rng.below(keys.len() as u64) as usize];
        if rng.chance(50) {
            obj.remove(key);
        } else {
            obj.insert(key.into(), hostile_string(rng));
        }
    }
}

/// One stdin payload. `huge` is a shared buffer over the 8 MiB limit, used rarely.
fn payload(rng: &mut Rng, places: &Places, huge: &[u8]) -> Vec<u8> {
    let event = if rng.chance(55) {
        post_tool_use(rng, places)
    } else {
        stop(rng, places)
    };
    let mut bytes = serde_json::to_vec(&event).expect("json");
    match rng.below(100) {
        // well-formed events, the bulk
        0..=54 => bytes,
        // truncated (half-written) JSON
        55..=64 => {
            bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
            bytes
        }
        // flipped / inserted bytes, often not UTF-8
        65..=79 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len() as u64 + 1) as usize;
                let b = rng.next() as u8;
                if rng.chance(50) && at < bytes.len() {
                    bytes[at] = b;
                } else {
                    bytes.insert(at, b);
                }
            }
            bytes
        }
        // a non-UTF-8 byte inside the command string
        80..=84 => {
            let s = String::from_utf8_lossy(&bytes).replacen("push", "pu\u{fffd}sh", 1);
            s.into_bytes()
                .into_iter()
                .flat_map(|b| if b == 0xbd { vec![0xff, 0xfe] } else { vec![b] })
                .collect()
        }
        // not an object / empty / whitespace / binary noise
        85..=92 => match rng.below(5) {
            0 => Vec::new(),
            1 => b" \n\t ".to_vec(),
            2 => b"[1,2,3]".to_vec(),
            3 => b"\"Stop\"".to_vec(),
            _ => (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
        },
        // large but under the limit: a 256 KiB command
        93..=98 => {
            let big = "git push origin main ".repeat(12_000);
            let mut e = event;
            e["tool_input"] = json!({"command": big});
            serde_json::to_vec(&e).expect("json")
        }
        // over the 8 MiB limit (rare: building it costs)
        _ if rng.chance(2) => huge.to_vec(),
        _ => bytes,
    }
}

/// Plants an odd marker (or a valid one) in the project's marker directory.
fn odd_markers(rng: &mut Rng, dir: &Path, big: &[u8]) {
    let names = [
        "push-pending.json",
        "deploy-verified.json",
        "stop-blocks.json",
        "pushed-0000000000001-1-1.json",
        ".push-pending.lock",
    ];
    let path = dir.join(names[rng.below(names.len() as u64) as usize]);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir_all(&path);
    let now = Timestamp::now().0;
    let valid_push = json!({"branch": "main", "environment": "production",
        "sha": "0123456789abcdef0123456789abcdef01234567", "command": "git push", "session_id": "s",
        "time": now.saturating_sub(rng.below(3) * 40 * 24 * 3600 * 1000), "time_utc": ""});
    let body: Vec<u8> = match rng.below(11) {
        0 => Vec::new(),
        1 => {
            let b = serde_json::to_vec_pretty(&valid_push).expect("json");
            b[..rng.below(b.len() as u64) as usize].to_vec()
        }
        2 => big.to_vec(),
        3 => vec![0xff, 0xfe, b'{', 0x80, b'}'],
        4 => br#"{"branch":1,"environment":[],"sha":"zz","time":"x"}"#.to_vec(),
        5 => br#"{"environment":"production","sha":"0123456789abcdef0123456789abcdef01234567","time":99999999999999,"checks":[]}"#.to_vec(),
        6 => br#"{"sha":"","environment":"production","count":4294967295}"#.to_vec(),
        7 => {
            let _ = std::fs::create_dir(&path);
            return;
        }
        8 => {
            let _ = std::os::unix::fs::symlink("/dev/zero", &path);
            return;
        }
        9 if rng.chance(5) => {
            // a FIFO: opening it for reading would block a careless reader forever
            let _ = std::process::Command::new("mkfifo").arg(&path).status();
            return;
        }
        _ => serde_json::to_vec(&valid_push).expect("json"),
    };
    let _ = std::fs::write(&path, body);
}

/// Answers git questions from the input's seed: sane, missing or hostile.
struct SeededGit {
    branch: Option<String>,
    sha: Option<String>,
    pr: Option<PrInfo>,
}

impl SeededGit {
    fn new(rng: &mut Rng) -> Self {
        let text = |rng: &mut Rng| -> Option<String> {
            match rng.below(6) {
                0 => None,
                1 => Some(command(rng)),
                2 => Some("main\u{0}\n".into()),
                _ => Some(
                    rng.pick(&["main", "staging", "master", "feature/x"])
                        .to_string(),
                ),
            }
        };
        let sha = match rng.below(5) {
            0 => None,
            1 => Some("not-a-sha".into()),
            2 => Some("ABCDEF1".into()),
            _ => Some(format!(
                "{:016x}{:016x}{:08x}",
                rng.next(),
                rng.next(),
                rng.next() as u32
            )),
        };
        let pr = rng.chance(50).then(|| PrInfo {
            base_branch: text(rng).unwrap_or_default(),
            merge_sha: sha.clone(),
        });
        SeededGit {
            branch: text(rng),
            sha,
            pr,
        }
    }
}

impl GitFacts for SeededGit {
    fn current_branch(&self, _: &Path) -> Option<String> {
        self.branch.clone()
    }
    fn upstream_branch(&self, _: &Path) -> Option<String> {
        self.branch.clone()
    }
    fn rev_parse(&self, _: &Path, _: &str) -> Option<String> {
        self.sha.clone()
    }
    fn pr_view(&self, _: &Path, _: Option<&str>, _: Option<&str>) -> Option<PrInfo> {
        self.pr.clone()
    }
}

/// What `hook_main` would print must be nothing, or one line of the documented JSON shape.
fn check_post_push(out: &hook_post_push::Outcome) -> Result<(), String> {
    check_stderr(&out.stderr, "hook-post-push: ")?;
    let Some(s) = &out.stdout else { return Ok(()) };
    let v = one_json_line(s)?;
    let spec = &v["hookSpecificOutput"];
    let ok = v.as_object().is_some_and(|o| o.len() == 1)
        && spec.as_object().is_some_and(|o| o.len() == 2)
        && spec["hookEventName"] == "PostToolUse"
        && spec["additionalContext"]
            .as_str()
            .is_some_and(|c| c.contains("verify-deployment"));
    if ok {
        Ok(())
    } else {
        Err(format!("post-push stdout of the wrong shape: {s}"))
    }
}

fn check_stop(out: &hook_stop::Outcome) -> Result<(), String> {
    check_stderr(&out.stderr, "hook-stop: ")?;
    let Some(s) = &out.stdout else {
        return match out.decision {
            hook_stop::Decision::Block => Err("blocked without saying so on stdout".into()),
            _ => Ok(()),
        };
    };
    let v = one_json_line(s)?;
    let o = v.as_object().ok_or("stop stdout is not an object")?;
    let block = o.len() == 2
        && v["decision"] == "block"
        && v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("verify-deployment"));
    let message = o.len() == 1 && v["systemMessage"].as_str().is_some_and(|m| !m.is_empty());
    match (block, message, out.decision) {
        (true, _, hook_stop::Decision::Block) => Ok(()),
        (_, true, hook_stop::Decision::Allow | hook_stop::Decision::GaveUp) => Ok(()),
        _ => Err(format!(
            "stop stdout of the wrong shape for {:?}: {s}",
            out.decision
        )),
    }
}

fn one_json_line(s: &str) -> Result<Value, String> {
    if s.contains('\n') {
        return Err(format!("stdout is more than one line: {s:?}"));
    }
    serde_json::from_str(s).map_err(|e| format!("stdout is not JSON ({e}): {s:?}"))
}

fn check_stderr(lines: &[String], prefix: &str) -> Result<(), String> {
    match lines.iter().find(|l| !l.starts_with(prefix)) {
        Some(l) => Err(format!("stderr line without the {prefix:?} prefix: {l:?}")),
        None => Ok(()),
    }
}

struct Totals {
    done: AtomicU64,
    panics: AtomicU64,
    invalid: AtomicU64,
    failures: std::sync::Mutex<Vec<String>>,
}

fn fail(totals: &Totals, counter: &AtomicU64, what: String) {
    counter.fetch_add(1, Ordering::Relaxed);
    let mut f = totals.failures.lock().unwrap_or_else(|e| e.into_inner());
    if f.len() < 10 {
        f.push(what);
    }
}

/// One input: odd markers maybe, then the payload through both hooks.
fn one_input(
    i: u64,
    seed: u64,
    places: &Places,
    base: &Path,
    bufs: &(Vec<u8>, Vec<u8>),
    t: &Totals,
) {
    let mut rng = Rng::for_input(seed, i);
    if rng.chance(15) {
        let project = &places.projects[rng.below(places.projects.len() as u64) as usize];
        if let Ok(root) = markers::project_root(project)
            && let Ok(store) = markers::MarkerStore::open_in(base, &root)
        {
            odd_markers(&mut rng, store.dir(), &bufs.1);
        }
    }
    let input = payload(&mut rng, places, &bufs.0);
    let input = markers::hookio::read_stdin_limited(&input[..]).expect("reading a slice");
    let git = SeededGit::new(&mut rng);
    let project_dir = rng.chance(20).then(|| places.projects[0].clone());
    let now = match rng.below(20) {
        0 => Timestamp(0),
        1 => Timestamp(u64::MAX / 2),
        _ => Timestamp::now(),
    };
    let post = catch_unwind(AssertUnwindSafe(|| {
        let ctx = hook_post_push::Context {
            git: &git,
            project_dir: project_dir.clone(),
            marker_base: Some(base.to_path_buf()),
        };
        check_post_push(&hook_post_push::run(&input, &ctx))
    }));
    let stop = catch_unwind(AssertUnwindSafe(|| {
        let ctx = hook_stop::Context {
            project_dir: project_dir.clone(),
            marker_base: Some(base.to_path_buf()),
            now,
        };
        check_stop(&hook_stop::run(&input, &ctx))
    }));
    for (hook, r) in [("hook-post-push", post), ("hook-stop", stop)] {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(why)) => fail(
                t,
                &t.invalid,
                format!("input {i} (seed {seed}), {hook}: {why}"),
            ),
            Err(_) => fail(
                t,
                &t.panics,
                format!("input {i} (seed {seed}), {hook}: panicked"),
            ),
        }
    }
    t.done.fetch_add(1, Ordering::Relaxed);
}

fn setup(dir: &Path) -> Places {
    let mut projects = Vec::new();
    let configs = [
        None,
        Some("[[environments]]\nname = \"production\"\nbranches = [\"main\", \"feature/x\"]\n"),
        Some("[[environments]]\nname = 7\n"),
        Some("\u{0}\u{ff}not toml [[["),
    ];
    for (n, config) in configs.iter().enumerate() {
        let p = dir.join(format!("project-{n}"));
        std::fs::create_dir_all(p.join(".git")).expect("temp project");
        std::fs::create_dir_all(p.join("sub")).expect("temp project");
        if let Some(c) = config {
            std::fs::write(p.join("harness.toml"), c).expect("temp project");
        }
        projects.push(p);
    }
    Places {
        projects,
        nowhere: dir.join("does-not-exist"),
    }
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let inputs = arg(&args, "--inputs", 1_000_000);
    let seed = arg(&args, "--seed", 20);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
    let threads = arg(&args, "--threads", cores).max(1);
    // Keep the default hook quiet: panics are caught, counted and reported below.
    std::panic::set_hook(Box::new(|_| {}));
    let tmp = tempfile::tempdir().expect("temp dir");
    std::env::set_current_dir(tmp.path()).expect("cd to the temp dir");
    let huge = Arc::new((
        vec![b' '; markers::hookio::MAX_INPUT_BYTES + 10],
        vec![b'{'; 70 * 1024],
    ));
    let totals = Arc::new(Totals {
        done: AtomicU64::new(0),
        panics: AtomicU64::new(0),
        invalid: AtomicU64::new(0),
        failures: Default::default(),
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|w| {
            let (totals, bufs) = (totals.clone(), huge.clone());
            let dir = tmp.path().join(format!("worker-{w}"));
            std::thread::spawn(move || {
                let places = setup(&dir);
                let base = dir.join("markers");
                let mut i = w;
                while i < inputs {
                    // A fresh marker tree now and then, so record files do not pile up.
                    if (i / threads).is_multiple_of(2000) {
                        let _ = std::fs::remove_dir_all(&base);
                    }
                    one_input(i, seed, &places, &base, &bufs, &totals);
                    i += threads;
                }
            })
        })
        .collect();
    for w in workers {
        if w.join().is_err() {
            totals.panics.fetch_add(1, Ordering::Relaxed);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let (done, panics, invalid) = (
        totals.done.load(Ordering::Relaxed),
        totals.panics.load(Ordering::Relaxed),
        totals.invalid.load(Ordering::Relaxed),
    );
    println!(
        "fuzz-hooks: {done} inputs (each to hook-post-push and hook-stop), seed {seed}, {threads} threads, \
         {secs:.1} s ({:.0} inputs/s): {panics} panics, {invalid} invalid outputs",
        done as f64 / secs
    );
    for f in totals
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        println!("  {f}");
    }
    if panics + invalid == 0 && done == inputs {
        ExitStatus::Pass.into()
    } else {
        ExitStatus::Fail.into()
    }
}
