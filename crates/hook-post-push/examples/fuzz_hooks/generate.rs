//! The seeded input generator: stdin payloads, odd marker files, and git's answers.
//!
//! Input `i` of seed `S` is generated from `S` and `i` alone, so `--only i` regenerates it.

use hook_post_push::git::{GitFacts, PrInfo};
use markers::Timestamp;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// SplitMix64: tiny, seedable, good enough to pick shapes.
pub struct Rng(u64);

impl Rng {
    pub fn for_input(seed: u64, index: u64) -> Self {
        Rng(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
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

pub fn command(rng: &mut Rng) -> String {
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
    // Often a clean push, so the deep paths (marker written, Stop blocking) are reached too.
    let extra = if rng.chance(40) { 0 } else { rng.below(24) };
    for _ in 0..extra {
        s.push(' ');
        s.push_str(rng.pick(WORDS));
    }
    // Unclosed parens: the parser's cost doubles with each level (see hook_post_push::detect::
    // MAX_PAREN_DEPTH), so both far over the cap and just around it.
    if rng.chance(2) {
        let n = if rng.chance(50) {
            rng.below(5000)
        } else {
            rng.below(24)
        };
        s.push_str(&"(".repeat(n as usize));
    }
    if rng.chance(1) {
        s.push_str(&"git push origin main && ".repeat(rng.below(400) as usize));
    }
    s
}

pub fn hostile_string(rng: &mut Rng) -> Value {
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
pub struct Places {
    pub projects: Vec<PathBuf>,
    pub nowhere: PathBuf,
}

pub fn cwd(rng: &mut Rng, places: &Places) -> Value {
    match rng.below(20) {
        0 => Value::Null,
        1 => json!(42),
        2 => json!(places.nowhere),
        3 => json!(""),
        4 => json!(format!("{}/\u{0}x", places.projects[0].display())),
        _ => json!(places.projects[rng.below(places.projects.len() as u64) as usize]),
    }
}

pub fn post_tool_use(rng: &mut Rng, places: &Places) -> Value {
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

pub fn stop(rng: &mut Rng, places: &Places) -> Value {
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
pub fn mutate_fields(rng: &mut Rng, e: &mut Value) {
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

/// The shapes of stdin the generator makes, for the report's breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A well-formed event (fields may still be missing, mistyped or hostile).
    Valid,
    /// Valid JSON cut short (a half-written event).
    Truncated,
    /// Random bytes flipped or inserted, often not UTF-8.
    Flipped,
    /// A non-UTF-8 byte sequence inside the command string.
    NonUtf8,
    /// Empty, whitespace, JSON that is not an object, binary noise.
    NotAnObject,
    /// A 256 KiB command (here-doc or quoted data), a 1.3 MiB one (over the parse limit) or a
    /// 32 KiB one of 6,000 words.
    Large,
    /// Over the 8 MiB stdin limit.
    OverLimit,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Valid,
        Kind::Truncated,
        Kind::Flipped,
        Kind::NonUtf8,
        Kind::NotAnObject,
        Kind::Large,
        Kind::OverLimit,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Kind::Valid => "valid events",
            Kind::Truncated => "truncated JSON",
            Kind::Flipped => "flipped bytes",
            Kind::NonUtf8 => "non-UTF-8 command",
            Kind::NotAnObject => "not an object",
            Kind::Large => "large command",
            Kind::OverLimit => "over 8 MiB",
        }
    }
}

/// A large command: mostly data the parser skips cheaply, sometimes thousands of words (whose parse
/// cost is linear, but real, so they are the rarer kind).
fn large_command(rng: &mut Rng) -> String {
    let data = "deploy notes: $HOME `x` (a) \\ 'q' \"d\" ü 🚀 ; && |\n".repeat(5_000);
    match rng.below(6) {
        0 | 1 => format!("git push origin main <<'EOF'\n{data}EOF\n"),
        2 | 3 => format!("echo '{}' && git push origin main", data.replace('\'', "")),
        // over hook_post_push::detect::MAX_COMMAND_BYTES: refused before parsing
        4 => format!("{}git push origin main", data.repeat(5)),
        _ => "git push origin main && echo ".repeat(1_200),
    }
}

/// One stdin payload and its kind. `huge` is a shared buffer over the 8 MiB limit, used rarely.
pub fn payload(rng: &mut Rng, places: &Places, huge: &[u8]) -> (Vec<u8>, Kind) {
    let event = if rng.chance(55) {
        post_tool_use(rng, places)
    } else {
        stop(rng, places)
    };
    let mut bytes = serde_json::to_vec(&event).expect("json");
    match rng.below(1000) {
        // well-formed events, the bulk
        0..=549 => (bytes, Kind::Valid),
        // truncated (half-written) JSON
        550..=649 => {
            bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
            (bytes, Kind::Truncated)
        }
        // flipped / inserted bytes, often not UTF-8
        650..=799 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len() as u64 + 1) as usize;
                let b = rng.next() as u8;
                if rng.chance(50) && at < bytes.len() {
                    bytes[at] = b;
                } else {
                    bytes.insert(at, b);
                }
            }
            (bytes, Kind::Flipped)
        }
        // a non-UTF-8 byte inside the command string
        800..=879 => {
            let s = String::from_utf8_lossy(&bytes).replacen("push", "pu\u{fffd}sh", 1);
            let bytes = s
                .into_bytes()
                .into_iter()
                .flat_map(|b| if b == 0xbd { vec![0xff, 0xfe] } else { vec![b] })
                .collect();
            (bytes, Kind::NonUtf8)
        }
        // not an object / empty / whitespace / binary noise
        880..=979 => {
            let bytes = match rng.below(5) {
                0 => Vec::new(),
                1 => b" \n\t ".to_vec(),
                2 => b"[1,2,3]".to_vec(),
                3 => b"\"Stop\"".to_vec(),
                _ => (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
            };
            (bytes, Kind::NotAnObject)
        }
        // large but under the limit (rarer: parsing thousands of words costs milliseconds)
        980..=994 => {
            let mut e = event;
            e["tool_input"] = json!({"command": large_command(rng)});
            (serde_json::to_vec(&e).expect("json"), Kind::Large)
        }
        // over the 8 MiB limit (rare: copying it costs)
        995..=999 if rng.chance(10) => (huge.to_vec(), Kind::OverLimit),
        _ => (bytes, Kind::Valid),
    }
}

/// What `odd_markers` left on disk, for the report.
pub const MARKER_SHAPES: [&str; 11] = [
    "empty file",
    "half-written marker",
    "70 KiB of '{'",
    "non-UTF-8 bytes",
    "fields of the wrong type",
    "a deploy-verified far in the future",
    "an absurd count",
    "a directory",
    "a symlink to /dev/zero",
    "a FIFO",
    "a valid marker",
];

/// Plants an odd marker (or a valid one) in the project's marker directory; returns its index in
/// `MARKER_SHAPES`.
pub fn odd_markers(rng: &mut Rng, dir: &Path, big: &[u8]) -> usize {
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
    let shape = rng.below(MARKER_SHAPES.len() as u64) as usize;
    let body: Vec<u8> = match shape {
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
            return shape;
        }
        8 => {
            let _ = std::os::unix::fs::symlink("/dev/zero", &path);
            return shape;
        }
        9 => {
            // opening it for reading would block a careless reader forever
            let _ = rustix::fs::mknodat(
                rustix::fs::CWD,
                &path,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o600),
                0,
            );
            return shape;
        }
        _ => serde_json::to_vec(&valid_push).expect("json"),
    };
    let _ = std::fs::write(&path, body);
    shape
}

/// What `odd_config` left as the last project's `harness.toml`, for the report.
pub const CONFIG_SHAPES: [&str; 6] = [
    "a valid config",
    "no config",
    "a directory",
    "a symlink to /dev/zero",
    "a FIFO",
    "2 MiB of comments",
];

/// Replaces the last project's `harness.toml` (a file in the user's repository, so anything a
/// cloned repository can hold: git keeps symlinks); returns its index in `CONFIG_SHAPES`.
pub fn odd_config(rng: &mut Rng, places: &Places) -> usize {
    let path = places.projects[places.projects.len() - 1].join("harness.toml");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir_all(&path);
    let shape = rng.below(CONFIG_SHAPES.len() as u64) as usize;
    let _ = match shape {
        0 => std::fs::write(
            &path,
            "[[environments]]\nname = \"production\"\nbranches = [\"main\"]\n",
        ),
        1 => Ok(()),
        2 => std::fs::create_dir(&path),
        3 => std::os::unix::fs::symlink("/dev/zero", &path),
        4 => rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .map_err(Into::into),
        _ => std::fs::write(&path, "# padding\n".repeat(200_000)),
    };
    shape
}

/// Answers git questions from the input's seed: sane, missing or hostile.
pub struct SeededGit {
    pub branch: Option<String>,
    pub sha: Option<String>,
    pub pr: Option<PrInfo>,
}

impl SeededGit {
    pub fn new(rng: &mut Rng) -> Self {
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

pub fn setup(dir: &Path) -> Places {
    let mut projects = Vec::new();
    let configs = [
        None,
        Some("[[environments]]\nname = \"production\"\nbranches = [\"main\", \"feature/x\"]\n"),
        Some("[[environments]]\nname = 7\n"),
        Some("\u{0}\u{ff}not toml [[["),
        // the last project's harness.toml is replaced by `odd_config` now and then
        Some("[[environments]]\nname = \"production\"\nbranches = [\"main\"]\n"),
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
