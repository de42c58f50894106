"""Runs the `run:` steps of workflows/review.yml's jobs in order on this machine (called by
scripts/ci-local.sh, which prepares the workspace, the local PostgreSQL and the harness binaries).

What GitHub provides is stood in for, and every stand-in is printed as it happens:
- the Postgres service container: the local PostgreSQL from `platform-check postgres`; each job
  gets a fresh database, as a fresh service container would give it, and DATABASE_URL points at it;
- actions/checkout: each job gets a fresh clone (or copy) of the platform checkout;
- actions/setup-python: a venv of the local Python of that version, first on PATH;
- actions/upload-artifact / download-artifact: a local artifact directory;
- actions/cache: a local cache directory (the harness binaries' key is pre-seeded with this
  workspace's build, so the `cargo install --git` step is skipped by its own `if:`).
Steps that need GitHub itself (github/codeql-action/upload-sarif) are skipped and listed.
Expressions (${{ }}) are evaluated for the subset review.yml uses.
"""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import yaml


def log(msg):
    print(f"ci-local: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- expressions

TOKEN = re.compile(r"\s*(?:(\|\||&&|==|!=|!|\(|\)|,)|('(?:[^']|'')*')|([A-Za-z_][\w.\-*]*)|(\d+))")


class Expr:
    """Recursive descent over the GitHub expression subset: literals, contexts, ||, &&, ==, !=, !,
    calls (always, success, failure, cancelled, hashFiles, format)."""

    def __init__(self, text, ctx):
        self.toks = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot parse expression: {text!r}")
            op, s, ident, num = m.groups()
            if op:
                self.toks.append(("op", op))
            elif s:
                self.toks.append(("str", s[1:-1].replace("''", "'")))
            elif ident:
                self.toks.append(("id", ident))
            else:
                self.toks.append(("str", num))
            pos = m.end()
        self.i = 0
        self.ctx = ctx

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self):
        v = self.or_()
        if self.i != len(self.toks):
            raise ValueError(f"trailing tokens in expression: {self.toks[self.i:]}")
        return v

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            r = self.and_()
            v = v if truthy(v) else r
        return v

    def and_(self):
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            r = self.cmp()
            v = r if truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            r = self.unary()
            eq = str(v).lower() == str(r).lower()
            v = eq if op == "==" else not eq
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.atom()

    def atom(self):
        kind, val = self.take()
        if kind == "str":
            return val
        if kind == "op" and val == "(":
            v = self.or_()
            self.take()
            return v
        if kind == "id":
            if self.peek() == ("op", "("):
                self.take()
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take()
                return self.call(val, args)
            if val in ("true", "false"):
                return val == "true"
            return self.lookup(val)
        raise ValueError(f"unexpected token {val!r}")

    def lookup(self, path):
        cur = self.ctx
        for part in path.split("."):
            if isinstance(cur, dict):
                cur = cur.get(part, "")
            else:
                return ""
        return "" if cur is None else cur

    def call(self, name, args):
        status = self.ctx["_status"]
        if name == "always":
            return True
        if name == "success":
            return status == "success"
        if name == "failure":
            return status == "failure"
        if name == "cancelled":
            return False
        if name == "format":
            fmt = str(args[0])
            for n, a in enumerate(args[1:]):
                fmt = fmt.replace("{" + str(n) + "}", str(a))
            return fmt
        if name == "hashFiles":
            h = hashlib.sha256()
            ws = self.ctx["github"]["workspace"]
            for pattern in args:
                for f in sorted(glob.glob(os.path.join(ws, str(pattern)), recursive=True)):
                    with open(f, "rb") as fh:
                        h.update(hashlib.sha256(fh.read()).digest())
            return h.hexdigest()
        raise ValueError(f"unsupported function {name}()")


def truthy(v):
    return v not in (False, "", 0, None)


def subst(text, ctx):
    """Replaces every ${{ ... }} in `text`."""
    if not isinstance(text, str):
        return text

    def one(m):
        v = Expr(m.group(1), ctx).parse()
        if v is True:
            return "true"
        if v is False:
            return "false"
        return str(v)

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def condition(text, ctx):
    if text is None:
        return ctx["_status"] == "success"
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    v = Expr(text, ctx).parse()
    # A condition without a status function implies success().
    if not re.search(r"\b(always|success|failure|cancelled)\(", text):
        return ctx["_status"] == "success" and truthy(v)
    return truthy(v)


# ---------------------------------------------------------------- runner


class Runner:
    def __init__(self, wf_path, ws, state, db, overrides, variables, skip_jobs, checkout):
        with open(wf_path) as f:
            self.wf = yaml.safe_load(f)
        self.ws = ws
        self.checkout = checkout
        self.state = state
        self.db = db
        self.overrides = overrides
        self.vars = variables
        self.skip_jobs = skip_jobs
        self.artifacts = os.path.join(state, "artifacts")
        self.cache = os.path.join(state, "cache")
        self.results = {}
        self.skipped_steps = []
        os.makedirs(self.artifacts, exist_ok=True)
        os.makedirs(self.cache, exist_ok=True)

    def base_ctx(self):
        return {
            "github": {"workspace": self.ws, "ref": "refs/heads/ci-local", "event_name": "pull_request"},
            "runner": {"os": "Linux", "temp": os.path.join(self.state, "runner-temp")},
            "vars": self.vars,
            "secrets": {},
            "needs": {},
            "matrix": {},
            "steps": {},
            "env": {},
            "_status": "success",
        }

    def fresh_workspace(self):
        """Every job starts from a fresh checkout, as on a fresh runner (nothing carries over
        between jobs except artifacts and caches)."""
        shutil.rmtree(self.ws, ignore_errors=True)
        src = self.checkout
        if subprocess.run(["git", "-C", src, "rev-parse", "--git-dir"], capture_output=True).returncode == 0:
            subprocess.run(["git", "clone", "-q", src, self.ws], check=True)
        else:
            shutil.copytree(src, self.ws, symlinks=True)

    def fresh_database(self):
        """A new, empty database: what a fresh service container gives each job."""
        psql, admin_url, name = self.db["psql"], self.db["admin_url"], self.db["name"]
        for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
            subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin_url, "-c", sql], check=True)

    def run(self):
        jobs = self.wf["jobs"]
        wf_env_raw = self.wf.get("env", {})
        for job_id, job in jobs.items():
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            ctx = self.base_ctx()
            ctx["needs"] = {n: {"result": self.results.get(n, "skipped")} for n in needs}
            if job_id in self.skip_jobs:
                log(f"job {job_id}: SKIPPED (--skip-job)")
                self.results[job_id] = "skipped"
                continue
            deps_ok = all(self.results.get(n) == "success" for n in needs)
            ctx["_status"] = "success" if deps_ok else "failure"
            if not condition(job.get("if"), ctx):
                log(f"job {job_id}: skipped by its if: (needs: {ctx['needs']})")
                self.results[job_id] = "skipped"
                continue
            matrix = (job.get("strategy") or {}).get("matrix") or {}
            combos = [{}]
            for k, vals in matrix.items():
                combos = [dict(c, **{k: v}) for c in combos for v in vals]
            results = []
            for combo in combos:
                results.append(self.run_job(job_id, job, wf_env_raw, needs, combo))
            self.results[job_id] = "success" if all(r == "success" for r in results) else "failure"
        return self.results

    def run_job(self, job_id, job, wf_env_raw, needs, combo):
        label = job_id + (f" {combo}" if combo else "")
        log(f"==== job {label}")
        self.fresh_workspace()
        ctx = self.base_ctx()
        ctx["matrix"] = combo
        ctx["needs"] = {n: {"result": self.results.get(n, "skipped")} for n in needs}
        temp = os.path.join(self.state, "runner-temp", re.sub(r"\W+", "-", label))
        shutil.rmtree(temp, ignore_errors=True)
        os.makedirs(temp)
        ctx["runner"]["temp"] = temp
        env = {}
        for scope in (wf_env_raw, job.get("env", {})):
            for k, v in scope.items():
                ctx["env"] = env
                env[k] = subst(str(v), ctx)
        env.update(self.overrides)
        if "services" in job:
            self.fresh_database()
            # The service's published port 5432 is the local PostgreSQL's port here.
            for k, v in env.items():
                for host in ("127.0.0.1:5432", "localhost:5432"):
                    if host in v:
                        env[k] = v.replace(host, f"127.0.0.1:{self.db['port']}")
                        log(f"  {k}: {host} -> 127.0.0.1:{self.db['port']}")
            log(f"  service container -> local PostgreSQL on port {self.db['port']}, fresh database '{self.db['name']}'")
        ctx["env"] = env
        path_prefix = []
        post_saves = []
        for n, step in enumerate(job.get("steps", [])):
            name = step.get("name") or step.get("uses") or f"step {n + 1}"
            name = subst(name, ctx)
            if not condition(step.get("if"), ctx):
                log(f"  - {name}: skipped by its if:")
                continue
            step_env = dict(env)
            for k, v in (step.get("env") or {}).items():
                step_env[k] = subst(str(v), ctx)
            ok = True
            if "uses" in step:
                ok = self.uses(step, ctx, label, name, path_prefix, post_saves)
            else:
                ok = self.run_step(step, ctx, step_env, temp, path_prefix, name)
            if not ok:
                ctx["_status"] = "failure"
        for src, dst in post_saves:
            if ctx["_status"] == "success" and os.path.isdir(src) and not os.path.exists(dst):
                shutil.copytree(src, dst, symlinks=True)
                log(f"  (post) actions/cache saved {os.path.relpath(src, self.ws)}")
        log(f"==== job {label}: {ctx['_status']}")
        return ctx["_status"]

    def run_step(self, step, ctx, step_env, temp, path_prefix, name):
        script = subst(step["run"], ctx)
        wd = os.path.join(self.ws, subst(step.get("working-directory", "."), ctx))
        files = {k: os.path.join(temp, f"{k}-{time.monotonic_ns()}") for k in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
        for f in files.values():
            open(f, "w").close()
        e = dict(os.environ)
        e.update(step_env)
        e.update(files)
        e.update(
            {
                "CI": "true",
                "GITHUB_WORKSPACE": self.ws,
                "RUNNER_TEMP": temp,
                "GITHUB_STEP_SUMMARY": os.path.join(self.state, "step-summary.md"),
            }
        )
        if path_prefix:
            e["PATH"] = os.pathsep.join(path_prefix + [e.get("PATH", "")])
        log(f"  - {name}: run")
        t = time.monotonic()
        code = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=wd, env=e).returncode
        log(f"  - {name}: exit {code} ({time.monotonic() - t:.1f}s)")
        if step.get("id"):
            ctx["steps"][step["id"]] = {"outputs": read_kv(files["GITHUB_OUTPUT"]), "outcome": "success" if code == 0 else "failure"}
        ctx["env"].update(read_kv(files["GITHUB_ENV"]))
        with open(files["GITHUB_PATH"]) as fh:
            path_prefix[:0] = [p.strip() for p in fh if p.strip()]
        return code == 0

    def uses(self, step, ctx, label, name, path_prefix, post_saves):
        action = step["uses"].split("@")[0]
        w = {k: subst(str(v), ctx) for k, v in (step.get("with") or {}).items()}
        outputs = {}
        if action == "actions/checkout":
            log(f"  - {name}: the workspace is a fresh clone of the platform checkout")
        elif action == "actions/setup-python":
            venv = os.path.join(self.state, f"python-{w.get('python-version')}")
            if not os.path.isdir(venv):
                subprocess.run([self.find_python(w.get("python-version")), "-m", "venv", venv], check=True)
            path_prefix.insert(0, os.path.join(venv, "bin"))
            log(f"  - {name}: Python {w.get('python-version')} venv first on PATH ({venv})")
        elif action == "actions/upload-artifact":
            dest = os.path.join(self.artifacts, w["name"])
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            n = 0
            for p in [x.strip() for x in w.get("path", "").splitlines() if x.strip()]:
                for src in glob.glob(os.path.join(self.ws, p)):
                    target = os.path.join(dest, os.path.basename(src)) if "\n" in w.get("path", "").strip() else dest
                    if os.path.isdir(src):
                        shutil.copytree(src, target, dirs_exist_ok=True)
                    else:
                        shutil.copy2(src, target if os.path.isdir(target) else dest)
                    n += 1
            log(f"  - {name}: artifact {w['name']} stored locally ({n} path(s))")
        elif action == "actions/download-artifact":
            dest = os.path.join(self.ws, w.get("path", "."))
            os.makedirs(dest, exist_ok=True)
            if "name" in w:
                src = os.path.join(self.artifacts, w["name"])
                if not os.path.isdir(src):
                    log(f"  - {name}: artifact {w['name']} not found")
                    return False
                shutil.copytree(src, dest, dirs_exist_ok=True)
                log(f"  - {name}: artifact {w['name']} restored")
            else:
                names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(self.artifacts, w["pattern"])))
                for a in names:
                    target = dest if w.get("merge-multiple") == "true" else os.path.join(dest, a)
                    shutil.copytree(os.path.join(self.artifacts, a), target, dirs_exist_ok=True)
                log(f"  - {name}: artifacts {names} restored")
        elif action == "actions/cache":
            key = re.sub(r"[^\w.\-]+", "_", w["key"])
            stored = os.path.join(self.cache, key)
            path = os.path.join(self.ws, w["path"])
            if os.path.isdir(stored):
                shutil.rmtree(path, ignore_errors=True)
                shutil.copytree(stored, path, symlinks=True)
                outputs["cache-hit"] = "true"
                log(f"  - {name}: actions/cache hit ({w['key']})")
            else:
                outputs["cache-hit"] = "false"
                post_saves.append((path, stored))
                log(f"  - {name}: actions/cache miss ({w['key']}); saved after the job")
        else:
            self.skipped_steps.append(f"{label}: {name} ({action}: needs GitHub itself)")
            log(f"  - {name}: SKIPPED ({action} needs GitHub itself)")
        if step.get("id"):
            ctx["steps"][step["id"]] = {"outputs": outputs, "outcome": "success"}
        return True

    @staticmethod
    def find_python(version):
        for cand in [shutil.which(f"python{version}")] + sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")), reverse=True):
            if cand and subprocess.run([cand, "-c", "pass"], capture_output=True).returncode == 0:
                return cand
        raise SystemExit(f"ci-local: no Python {version} on this machine")


def read_kv(path):
    """GITHUB_OUTPUT / GITHUB_ENV: `k=v` lines and `k<<DELIM` heredocs."""
    out = {}
    with open(path) as fh:
        lines = fh.read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            k, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[k] = "\n".join(body)
        elif "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        i += 1
    return out


def main():
    cfg = json.loads(sys.argv[1])
    r = Runner(
        cfg["workflow"],
        cfg["workspace"],
        cfg["state"],
        cfg["db"],
        cfg["overrides"],
        cfg["vars"],
        set(cfg.get("skip_jobs", [])),
        cfg["checkout"],
    )
    results = r.run()
    log("==== results")
    for job, res in results.items():
        log(f"  {job}: {res}")
    if r.skipped_steps:
        log("steps skipped because they need GitHub itself:")
        for s in r.skipped_steps:
            log(f"  {s}")
    summary = os.path.join(cfg["state"], "step-summary.md")
    if os.path.exists(summary):
        log(f"job summaries: {summary}")
    sys.exit(0 if all(v in ("success", "skipped") for v in results.values()) and any(v == "success" for v in results.values()) else 1)


if __name__ == "__main__":
    main()
