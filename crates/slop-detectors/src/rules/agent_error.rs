//! `agent-error`: every error response goes through the project's helper (`agent_error` by default).
//!
//! Flags `HTTPException(...)` (under any import alias) whose `detail` is missing, a bare string
//! (literal, f-string, concatenation, `%`/`.format`, `str(e)`) or a hand-built dict, and
//! `JSONResponse(...)`-family calls with a status ≥ 400 whose `content` is not the helper's result.
//! A variable is followed to what the enclosing function (or module) assigns to it. Anything else
//! (an attribute such as `exc.detail`, another function's result) is not judged: the rule reports
//! only what it can show.

use super::{Checker, arg, status_code};
use crate::finding::{Rule, normalize};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

enum Body {
    Helper,
    Bad(&'static str),
    Unknown,
}

impl<'a> Checker<'a> {
    fn is_helper_call(&self, e: &Expr) -> bool {
        matches!(e, Expr::Call(c) if self
            .m
            .callee_name(&c.func)
            .is_some_and(|n| self.settings.error_helpers.contains(&n)))
    }

    fn classify(&self, e: &'a Expr, depth: u8) -> Body {
        if self.is_helper_call(e) {
            return Body::Helper;
        }
        match e {
            Expr::StringLiteral(_) | Expr::FString(_) => Body::Bad("a bare string"),
            Expr::NoneLiteral(_) => Body::Bad("no detail"),
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add | ast::Operator::Mod) => {
                match (
                    self.classify(&b.left, depth),
                    self.classify(&b.right, depth),
                ) {
                    (Body::Bad(why), _) | (_, Body::Bad(why)) => Body::Bad(why),
                    _ => Body::Unknown,
                }
            }
            Expr::Dict(d) => {
                if d.items.iter().any(|item| self.is_helper_call(&item.value)) {
                    Body::Helper
                } else {
                    Body::Bad("hand-built error JSON")
                }
            }
            Expr::Call(c) => match self.m.callee_name(&c.func).as_deref() {
                Some("str" | "repr" | "format") => Body::Bad("a bare string"),
                Some("dict") => Body::Bad("hand-built error JSON"),
                _ => Body::Unknown,
            },
            Expr::If(i) => match (
                self.classify(&i.body, depth),
                self.classify(&i.orelse, depth),
            ) {
                (Body::Bad(why), _) | (_, Body::Bad(why)) => Body::Bad(why),
                (Body::Helper, Body::Helper) => Body::Helper,
                _ => Body::Unknown,
            },
            Expr::Name(n) if depth < 3 => {
                let values = self.bound(n.id.as_str());
                let mut verdict = Body::Unknown;
                for v in values {
                    match self.classify(v, depth + 1) {
                        Body::Helper => return Body::Helper,
                        Body::Bad(why) => verdict = Body::Bad(why),
                        Body::Unknown => {}
                    }
                }
                verdict
            }
            _ => Body::Unknown,
        }
    }

    pub(super) fn check_error_response(&mut self, call: &'a ast::ExprCall) {
        let Some(callee) = self.m.callee_name(&call.func) else {
            return;
        };
        let helper = self.settings.error_helpers[0].clone();
        let (what, status, body) = match callee.as_str() {
            "HTTPException" => (
                "HTTPException detail",
                arg(call, "status_code", 0).and_then(status_code),
                arg(call, "detail", 1),
            ),
            "JSONResponse" | "ORJSONResponse" | "UJSONResponse" => {
                let status = arg(call, "status_code", 1).and_then(status_code);
                // A JSONResponse is an error response only when its status says so.
                if status.is_none_or(|s| s < 400) {
                    return;
                }
                ("error response content", status, arg(call, "content", 0))
            }
            _ => return,
        };
        if status.is_some_and(|s| s < 400) {
            return;
        }
        let why = match body {
            None => "missing",
            Some(b) => match self.classify(b, 0) {
                Body::Bad(why) => why,
                Body::Helper | Body::Unknown => return,
            },
        };
        let status_txt = status.map_or(String::new(), |s| format!(" ({s})"));
        let message = format!("{callee}{status_txt}: {what} is {why}, not {helper}(...)");
        let hint = if callee == "HTTPException" {
            format!(
                "raise HTTPException(status_code=..., detail={helper}(error=..., how_to_fix=...))"
            )
        } else {
            format!("return {callee}(status_code=..., content={helper}(error=..., how_to_fix=...))")
        };
        let key = normalize(self.src(call));
        self.report(Rule::AgentError, call.range(), message, hint, key);
    }
}
