//! Database faults (`db-fail`, `db-stall`): the request runs while the target's database fails or
//! stalls, armed through the embedded platform's test-only fault control or a `dst-sim proxy` in
//! front of a remote target's database; then its retry, which must converge to "applied once".

use super::faults::{class, det_uuid};
use super::{DbControl, Driver, server_error};
use crate::invariants::{Failure, Invariant};
use crate::model::faults::{keyed_inner, repeat_rejection};
use crate::model::{Expect, Fault, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

impl Driver {
    /// A request under a database failure or stall, then its retry.
    ///
    /// A fault that fired is recorded as fired whatever the outcome. A 5xx other than 503/504
    /// under a fired fault is a violation (the platform reports a database failure as its own
    /// bug), but only after the retry converged and the read-backs ran, so the model and the
    /// target agree when the seed goes on.
    pub(super) async fn db_fault(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
        inner: &Transition,
    ) -> Result<bool, Failure> {
        let stall = match f {
            Fault::DbStall { ms, .. } => Some(*ms),
            _ => None,
        };
        let control = self.db_control.clone();
        let armed = self.arm(&control, stall, writes_to_skip(inner)).await?;
        self.idem = keyed_inner(inner).then(|| det_uuid(&self.prefix, step));
        self.fault_scope = Some(format!("{}-{step}", self.prefix));
        self.tolerate_5xx = true;
        let r1 = self.request(before, inner).await;
        self.tolerate_5xx = false;
        self.fault_scope = None;
        let disarmed = self.disarm(&control).await;
        let Some(r1) = r1? else {
            return Ok(false);
        };
        let disarmed = disarmed?;
        let fired = disarmed.fired.saturating_sub(armed.fired) > 0;
        if let (Some(a), Some(d)) = (armed.statements, disarmed.statements)
            && d == a
            && class(&r1) == Expect::Ok
        {
            // a write succeeded and the proxy saw no statement: the target's database is not
            // behind this proxy, and no database fault can ever fire (a setup error, not a bug)
            return Err(self.unreachable(
                "the fault proxy (--fault-proxy)",
                format!("it saw no database statement while {:?} succeeded: is the target's DATABASE_URL pointing at the proxy?", inner.rule()),
            ));
        }
        if fired && let Some(rec) = &mut self.last_fault {
            rec.fired = true;
        }
        self.record_attempt(inner, &r1);
        let embedded = matches!(control, DbControl::Embedded(_));
        let failed_clean = matches!(r1.status, 503 | 504) || (!embedded && r1.status == 0);
        let unclean_5xx = r1.status >= 500 && !failed_clean;
        if unclean_5xx && !fired {
            return Err(self.violation(
                Invariant::No5xx,
                format!(
                    "{inner:?} with no database fault injected answered {}",
                    server_error(r1.status, &r1.text)
                ),
            ));
        }
        if failed_clean || unclean_5xx {
            // nothing may have happened (embedded: rolled back), or it may have (remote):
            // the retry converges to "applied once"
            self.db_retry(before, inner, &r1, embedded).await?;
        } else {
            if class(&r1) != Expect::Ok {
                return Err(self.violation(
                    Invariant::ModelAgreement,
                    format!(
                        "{inner:?} under a database {}: the model predicted Ok, the platform answered {}",
                        if stall.is_some() { "stall" } else { "fault" },
                        r1.status
                    ),
                ));
            }
            self.remember(before, inner, &r1.body);
        }
        self.check_step(after, inner).await?;
        if unclean_5xx {
            return Err(self.violation(
                Invariant::No5xx,
                format!(
                    "a request under an injected database {} answered {} instead of a clean 503/504 ({}); the retry converged",
                    if stall.is_some() { "stall" } else { "failure" },
                    r1.status,
                    error_type(&r1.body),
                ),
            ));
        }
        Ok(fired || failed_clean)
    }

    /// The retry after a failed attempt `r1`: it must succeed, or find the first attempt applied
    /// (the deterministic "already" rejection, or a keyed replay of a remote success).
    async fn db_retry(
        &mut self,
        before: &State,
        inner: &Transition,
        r1: &RawResponse,
        embedded: bool,
    ) -> Result<(), Failure> {
        let Some(r2) = self.request(before, inner).await? else {
            return Ok(());
        };
        self.record_attempt(inner, &r2);
        let ok = class(&r2) == Expect::Ok && !(embedded && r2.replayed);
        let converged = !embedded
            && (class(&r2) == repeat_rejection(inner) || (keyed_inner(inner) && r2.replayed));
        if !(ok || converged) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{inner:?}: after a failed attempt ({}), the retry answered {}{}",
                    r1.status,
                    r2.status,
                    if r2.replayed {
                        " (a replay of the failed attempt)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if class(&r2) == Expect::Ok {
            self.remember(before, inner, &r2.body);
        }
        Ok(())
    }

    /// Arms one database fault (a proxy lets `skip` writes through first); returns the counters
    /// before it.
    async fn arm(
        &self,
        control: &DbControl,
        stall: Option<u64>,
        skip: u32,
    ) -> Result<DbCounters, Failure> {
        let scope = format!("{}-{}", self.prefix, self.step);
        let (client, path, body) = match (control, stall) {
            (DbControl::None, _) => return Ok(DbCounters::default()),
            (DbControl::Embedded(c), None) => (
                c,
                "/api/test/db-faults",
                json!({"fail_next": 1, "scope": scope}),
            ),
            (DbControl::Embedded(c), Some(ms)) => (
                c,
                "/api/test/db-faults",
                json!({"stall_next": 1, "stall_ms": ms, "scope": scope}),
            ),
            (DbControl::Proxy(c), None) => (
                c,
                "/faults",
                json!({"mode": "reset", "count": 1, "skip": skip}),
            ),
            (DbControl::Proxy(c), Some(ms)) => (
                c,
                "/faults",
                json!({"mode": "stall", "ms": ms, "count": 1, "skip": skip}),
            ),
        };
        let r = client
            .send_raw(Method::POST, path, Some(&body))
            .await
            .map_err(|e| self.unreachable("fault control", e))?;
        if r.status != 200 {
            return Err(self.violation(
                Invariant::No5xx,
                format!("fault control {path} answered {}", r.status),
            ));
        }
        Ok(DbCounters::of(&r.body))
    }

    /// Disarms database faults; returns the counters after.
    async fn disarm(&self, control: &DbControl) -> Result<DbCounters, Failure> {
        let (client, path, body) = match control {
            DbControl::None => return Ok(DbCounters::default()),
            DbControl::Embedded(c) => (c, "/api/test/db-faults", json!({})),
            DbControl::Proxy(c) => (c, "/faults", json!({"mode": "none"})),
        };
        let r = client
            .send_raw(Method::POST, path, Some(&body))
            .await
            .map_err(|e| self.unreachable("fault control", e))?;
        Ok(DbCounters::of(&r.body))
    }
}

/// Which of a request's database writes a proxy fault hits: 0..=3 writes pass first, chosen by a
/// hash of the transition (same step, same write, also in a shrunk or replayed trace). A keyed
/// create writes its idempotency row, then the handler's rows, then the stored answer: always
/// failing the first write would only ever test the idempotency insert. A request with fewer
/// writes than that is not hit, and the fault counts as not fired.
fn writes_to_skip(inner: &Transition) -> u32 {
    let h = format!("{inner:?}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    (h % 4) as u32
}

/// What a fault control reports: faults fired so far, and (a proxy only) statements it has seen.
#[derive(Debug, Default, Clone, Copy)]
struct DbCounters {
    fired: u64,
    statements: Option<u64>,
}

impl DbCounters {
    fn of(v: &Value) -> DbCounters {
        DbCounters {
            fired: ["failed", "stalled", "resets", "stalls"]
                .iter()
                .filter_map(|k| v.get(k).and_then(Value::as_u64))
                .sum(),
            statements: v.get("statements").and_then(Value::as_u64),
        }
    }
}

/// The error type a development-mode platform names in a 5xx body (`debug.error_type`), else
/// `"no error type given"`: the part of a 5xx that stays the same across requests.
fn error_type(body: &Value) -> String {
    body.pointer("/debug/error_type")
        .or_else(|| body.pointer("/error_type"))
        .and_then(Value::as_str)
        .map_or_else(|| "no error type given".to_string(), str::to_string)
}
