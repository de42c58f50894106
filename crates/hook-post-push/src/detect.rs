//! Finds `git push` and `gh pr merge` invocations in a Bash command line.
//!
//! The command is parsed with brush-parser (a bash parser) rather than matched with a regex, so
//! `&&`, `;`, `||`, pipes, subshells, brace groups, `if`/loops, quoting, comments and here-docs are
//! handled the way bash handles them: `echo "git push"`, `grep 'git push'`, a commented line or a
//! here-doc body is data, never a command. `cd DIR` earlier in a sequence and `git -C DIR` change the
//! directory a later push runs in. `bash -c '…'` / `sh -c '…'` are parsed recursively.

use brush_parser::ast;
use std::path::{Path, PathBuf};

/// One deploy-relevant command found in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    GitPush(GitPush),
    GhPrMerge(GhPrMerge),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitPush {
    /// Directory the push runs in (after `cd` and `-C`).
    pub dir: PathBuf,
    pub remote: Option<String>,
    /// Refspecs as written (`HEAD:main`, `+refs/heads/main`, `staging`).
    pub refspecs: Vec<String>,
    /// The words of this one command, for the marker.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhPrMerge {
    pub dir: PathBuf,
    /// PR number, URL or branch, if given.
    pub selector: Option<String>,
    pub repo: Option<String>,
    pub text: String,
}

/// Deeper nesting of `(` than this is never handed to the parser. brush-parser's grammar tries
/// both readings of every `(` / `((` (subshell or arithmetic), so on a line that finally fails to
/// parse its time doubles with each level: 20 unclosed parens took 40 ms, 24 took 0.7 s, 40 would
/// take hours, and the hook would hang the session. Real command lines nest a few levels at most.
pub const MAX_PAREN_DEPTH: usize = 16;

/// Longer command lines are not parsed either. Parsing is linear but heavy: the 8 MiB the hook
/// accepts on stdin, as one command of words, took 4 s and 900 MB; 1 MiB takes about a tenth of that.
/// A Bash command an agent runs is a few KB; a megabyte is generated data, not a push to follow.
pub const MAX_COMMAND_BYTES: usize = 1024 * 1024;

/// Why a command line was not searched for pushes.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not valid shell: bash would not have run it either.
    #[error("cannot parse the command as shell: {0}")]
    Syntax(String),
    /// Too deeply nested to parse in bounded time (see [`MAX_PAREN_DEPTH`]).
    #[error(
        "the command nests parentheses {0} deep (more than {MAX_PAREN_DEPTH}), too deep to parse in bounded time; not searched for pushes"
    )]
    TooDeep(usize),
    /// Too long to parse in bounded time and memory (see [`MAX_COMMAND_BYTES`]).
    #[error(
        "the command is {0} bytes, over the {MAX_COMMAND_BYTES}-byte limit for parsing; not searched for pushes"
    )]
    TooLong(usize),
}

/// Every push / merge in `command`, in order, with `cwd` as the starting directory.
pub fn find(command: &str, cwd: &Path) -> Result<Vec<Found>, ParseError> {
    // Fast path: the hook runs after every Bash call; most never mention git or gh.
    if !command.contains("git") && !command.contains("gh") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    find_into(command, cwd, &mut out, 0)?;
    Ok(out)
}

fn find_into(command: &str, cwd: &Path, out: &mut Vec<Found>, depth: u8) -> Result<(), ParseError> {
    if command.len() > MAX_COMMAND_BYTES {
        return Err(ParseError::TooLong(command.len()));
    }
    let options = brush_parser::ParserOptions::default();
    // Tokenizing is linear; only the grammar can blow up, so the depth is measured on the tokens.
    let tokens = brush_parser::uncached_tokenize_str(command, &options.tokenizer_options())
        .map_err(|e| ParseError::Syntax(e.to_string()))?;
    let nesting = paren_depth(&tokens);
    if nesting > MAX_PAREN_DEPTH {
        return Err(ParseError::TooDeep(nesting));
    }
    let program = brush_parser::parse_tokens(&tokens, &options)
        .map_err(|e| ParseError::Syntax(e.to_string()))?;
    let mut walker = Walker { out, depth };
    let mut dir = cwd.to_path_buf();
    for cc in &program.complete_commands {
        walker.compound_list(cc, &mut dir);
    }
    Ok(())
}

/// The deepest nesting of `(` / `((` operators, unclosed ones included (quoted parens and `$(`
/// inside words are not operators). A `)` without its `(` (a `case` pattern) does not go below 0.
fn paren_depth(tokens: &[brush_parser::Token]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for t in tokens {
        if let brush_parser::Token::Operator(op, _) = t {
            match op.as_str() {
                "(" => depth += 1,
                "((" => depth += 2,
                ")" => depth = depth.saturating_sub(1),
                "))" => depth = depth.saturating_sub(2),
                _ => {}
            }
            deepest = deepest.max(depth);
        }
    }
    deepest
}

struct Walker<'a> {
    out: &'a mut Vec<Found>,
    depth: u8,
}

impl Walker<'_> {
    fn compound_list(&mut self, list: &ast::CompoundList, dir: &mut PathBuf) {
        for item in &list.0 {
            self.and_or(&item.0, dir);
        }
    }

    fn and_or(&mut self, list: &ast::AndOrList, dir: &mut PathBuf) {
        self.pipeline(&list.first, dir);
        for next in &list.additional {
            match next {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, dir),
            }
        }
    }

    fn pipeline(&mut self, p: &ast::Pipeline, dir: &mut PathBuf) {
        if p.seq.len() == 1 {
            self.command(&p.seq[0], dir);
        } else {
            // Each stage of a pipe runs in its own subshell: a `cd` there does not leak out.
            for c in &p.seq {
                self.command(c, &mut dir.clone());
            }
        }
    }

    fn command(&mut self, c: &ast::Command, dir: &mut PathBuf) {
        match c {
            ast::Command::Simple(s) => self.simple(s, dir),
            ast::Command::Compound(cc, _) => self.compound(cc, dir),
            // A function body only runs when called; we do not follow calls.
            ast::Command::Function(_) | ast::Command::ExtendedTest(..) => {}
        }
    }

    fn compound(&mut self, c: &ast::CompoundCommand, dir: &mut PathBuf) {
        match c {
            ast::CompoundCommand::Subshell(s) => self.compound_list(&s.list, &mut dir.clone()),
            ast::CompoundCommand::BraceGroup(b) => self.compound_list(&b.list, dir),
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition, dir);
                self.compound_list(&i.then, dir);
                for e in i.elses.iter().flatten() {
                    if let Some(cond) = &e.condition {
                        self.compound_list(cond, dir);
                    }
                    self.compound_list(&e.body, dir);
                }
            }
            ast::CompoundCommand::ForClause(f) => self.compound_list(&f.body.list, dir),
            ast::CompoundCommand::ArithmeticForClause(f) => self.compound_list(&f.body.list, dir),
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0, dir);
                self.compound_list(&w.1.list, dir);
            }
            ast::CompoundCommand::CaseClause(c) => {
                for item in &c.cases {
                    if let Some(cmd) = &item.cmd {
                        self.compound_list(cmd, dir);
                    }
                }
            }
            ast::CompoundCommand::Coprocess(c) => self.command(&c.body, &mut dir.clone()),
            ast::CompoundCommand::Arithmetic(_) => {}
        }
    }

    fn simple(&mut self, s: &ast::SimpleCommand, dir: &mut PathBuf) {
        let mut words: Vec<String> = Vec::new();
        if let Some(w) = &s.word_or_name {
            words.push(unquote(&w.value));
        }
        if let Some(suffix) = &s.suffix {
            for item in &suffix.0 {
                match item {
                    ast::CommandPrefixOrSuffixItem::Word(w) => words.push(unquote(&w.value)),
                    // `git -c k=v`: bash passes `k=v` as an argument; the parser labels it an assignment
                    ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                        words.push(unquote(&w.value))
                    }
                    _ => {}
                }
            }
        }
        self.words(&words, dir);
    }

    fn words(&mut self, words: &[String], dir: &mut PathBuf) {
        let Some((name, args)) = words.split_first() else {
            return;
        };
        match basename(name) {
            "cd" | "pushd" => {
                if let Some(target) = args.iter().find(|a| !a.starts_with('-')) {
                    *dir = join(dir, target);
                }
            }
            // Wrappers that run their arguments as a command.
            "env" => {
                let rest: Vec<String> = args
                    .iter()
                    .skip_while(|a| a.starts_with('-') || a.contains('='))
                    .cloned()
                    .collect();
                self.words(&rest, dir);
            }
            "command" | "nohup" | "exec" | "time" | "sudo" | "nice" => {
                let rest: Vec<String> = args
                    .iter()
                    .skip_while(|a| a.starts_with('-'))
                    .cloned()
                    .collect();
                self.words(&rest, dir);
            }
            "bash" | "sh" | "zsh" | "dash" => {
                if let Some(i) = args
                    .iter()
                    .position(|a| a == "-c" || a == "-lc" || a == "-ec")
                    && let Some(script) = args.get(i + 1)
                    && self.depth < 4
                {
                    // A parse error inside -c '…' means bash would fail too: nothing ran.
                    let _ = find_into(script, dir, self.out, self.depth + 1);
                }
            }
            "git" => {
                if let Some(p) = parse_git(args, dir) {
                    self.out.push(Found::GitPush(GitPush {
                        text: words.join(" "),
                        ..p
                    }));
                }
            }
            "gh" => {
                if let Some(m) = parse_gh(args, dir) {
                    self.out.push(Found::GhPrMerge(GhPrMerge {
                        text: words.join(" "),
                        ..m
                    }));
                }
            }
            _ => {}
        }
    }
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn unquote(s: &str) -> String {
    brush_parser::unquote_str(s)
}

fn join(dir: &Path, target: &str) -> PathBuf {
    if let Some(rest) = target.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    dir.join(target)
}

/// `git [global options] push [options] [remote [refspec…]]`
fn parse_git(args: &[String], dir: &Path) -> Option<GitPush> {
    let mut dir = dir.to_path_buf();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-C" => {
                dir = join(&dir, args.get(i + 1)?);
                i += 2;
            }
            "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--config-env" => {
                i += 2
            }
            _ if a.starts_with("--git-dir=")
                || a.starts_with("--work-tree=")
                || a.starts_with("--exec-path")
                || a.starts_with("--namespace=")
                || a.starts_with("--config-env=") =>
            {
                i += 1
            }
            "--help" | "-h" | "--version" => return None,
            _ if a.starts_with('-') => i += 1, // --no-pager, -p, --paginate, --bare, …
            _ => break,
        }
    }
    if args.get(i).map(String::as_str) != Some("push") {
        return None;
    }
    let mut positional = Vec::new();
    let mut tags_only = false;
    let mut rest = args[i + 1..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--dry-run" | "-n" | "--help" | "-h" | "--delete" | "-d" | "--porcelain-dry-run" => {
                return None;
            }
            "-o" | "--push-option" | "--receive-pack" | "--exec" | "--repo" => {
                rest.next();
            }
            "--" => positional.extend(rest.by_ref().cloned()),
            // `--tags` alone pushes tags, no branch
            "--tags" => tags_only = true,
            s if s.starts_with("--") => {}
            // combined short flags such as -fu or -nu
            s if s.starts_with('-') && s.len() > 1 => {
                if s[1..].contains('n') || s[1..].contains('d') || s[1..].contains('h') {
                    return None;
                }
            }
            s => positional.push(s.to_string()),
        }
    }
    if tags_only && positional.len() <= 1 {
        return None;
    }
    let mut positional = positional.into_iter();
    Some(GitPush {
        dir,
        remote: positional.next(),
        refspecs: positional.collect(),
        text: String::new(),
    })
}

/// `gh pr merge [<number> | <url> | <branch>] [flags]`
fn parse_gh(args: &[String], dir: &Path) -> Option<GhPrMerge> {
    let mut it = args.iter().peekable();
    let mut repo = None;
    // global -R/--repo may come first
    let mut words = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-R" | "--repo" => repo = it.next().cloned(),
            s if s.starts_with("--repo=") => repo = Some(s["--repo=".len()..].to_string()),
            "--help" | "-h" => return None,
            // flags of `gh pr merge` that take a value
            "-b"
            | "--body"
            | "-F"
            | "--body-file"
            | "-t"
            | "--subject"
            | "-A"
            | "--author-email"
            | "--match-head-commit" => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => words.push(s.to_string()),
        }
    }
    if words.first().map(String::as_str) != Some("pr")
        || words.get(1).map(String::as_str) != Some("merge")
    {
        return None;
    }
    Some(GhPrMerge {
        dir: dir.to_path_buf(),
        selector: words.get(2).cloned(),
        repo,
        text: String::new(),
    })
}

/// The destination branch a refspec pushes to (`HEAD:main` → main, `+refs/heads/x` → x); `None` for
/// tags and for the special `HEAD` (resolved by the caller to the current branch).
pub fn refspec_destination(refspec: &str) -> Option<String> {
    let r = refspec.trim_start_matches('+');
    let dst = match r.split_once(':') {
        Some((_, dst)) => dst,
        None => r,
    };
    if dst.is_empty() || dst.starts_with("refs/tags/") || dst == "HEAD" {
        return None;
    }
    Some(dst.strip_prefix("refs/heads/").unwrap_or(dst).to_string())
}

/// The local source of a refspec (`HEAD:main` → HEAD, `staging` → staging).
pub fn refspec_source(refspec: &str) -> String {
    let r = refspec.trim_start_matches('+');
    match r.split_once(':') {
        Some((src, _)) if !src.is_empty() => src.to_string(),
        Some(_) => "HEAD".into(),
        None => r.to_string(),
    }
}
