//! `dst-sim proxy`: a seeded TCP fault proxy to put in front of a remote target's database.
//!
//! The platform connects to the proxy instead of its database (e.g. `DATABASE_URL=…@127.0.0.1:6543/…`
//! with `--listen 127.0.0.1:6543 --upstream db-host:5432`). Bytes pass through untouched until a run
//! arms a fault through the control endpoint (`--control`, plain HTTP, loopback by default):
//!
//! - `POST /faults {"mode":"reset","count":N,"skip":K}`: after K writes pass (default 0), the next N
//!   database writes (SQL statements that change data: `INSERT`/`UPDATE`/`DELETE`/…, on any
//!   connection) close both sides before the statement reaches the database (the platform's pooled
//!   connection dies mid-transaction, as on a database restart or network reset; the database
//!   rolls the transaction back);
//! - `POST /faults {"mode":"stall","ms":M,"count":N,"skip":K}`: after K writes, the next N wait M ms;
//! - `POST /faults {"mode":"latency","ms":M}`: every statement waits a seeded 0..=M ms until disarmed;
//! - `POST /faults {"mode":"none"}`: disarm. `GET /faults`: counters (`resets`, `stalls`,
//!   `connections`, `statements`, `writes`: what the proxy has seen, so a run can tell that the
//!   target's database traffic passes through it).
//!
//! Reads never trigger an armed fault: a platform reads on every request (API-key lookups) and in
//! background pollers, and a fault spent on one of those would miss the request under test. The
//! statements are found by reading the PostgreSQL protocol ([`wire`]); a connection encrypted with
//! TLS cannot be read, and there every client message counts as a write.
//!
//! Toxiproxy would be the usual tool but is not installable here and its randomness cannot be seeded;
//! the maintained Rust proxy crates are stale, so the plumbing is tokio's own (`TcpListener`, split
//! streams) and the only randomness is a splitmix64 stream from `--seed`.

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wire::{Event, Wire};

pub mod wire;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    #[default]
    None,
    Reset {
        #[serde(default = "one")]
        count: u32,
        /// Writes to let through before the first one that fails.
        #[serde(default)]
        skip: u32,
    },
    Stall {
        ms: u64,
        #[serde(default = "one")]
        count: u32,
        #[serde(default)]
        skip: u32,
    },
    Latency {
        ms: u64,
    },
}

fn one() -> u32 {
    1
}

/// What a write must suffer.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Pass,
    Delay(u64),
    Reset,
}

pub struct Proxy {
    mode: Mutex<Mode>,
    rng: Mutex<u64>,
    pub resets: AtomicU64,
    pub stalls: AtomicU64,
    pub connections: AtomicU64,
    /// Statements seen running (reads and writes), and the writes among them.
    pub statements: AtomicU64,
    pub writes: AtomicU64,
}

impl Proxy {
    pub fn new(seed: u64) -> Arc<Self> {
        Arc::new(Proxy {
            mode: Mutex::new(Mode::None),
            rng: Mutex::new(seed),
            resets: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            statements: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    pub fn arm(&self, m: Mode) {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = m;
    }

    pub fn counters(&self) -> Value {
        let mode = *self.mode.lock().unwrap_or_else(|p| p.into_inner());
        json!({
            "mode": mode,
            "resets": self.resets.load(Ordering::Relaxed),
            "stalls": self.stalls.load(Ordering::Relaxed),
            "connections": self.connections.load(Ordering::Relaxed),
            "statements": self.statements.load(Ordering::Relaxed),
            "writes": self.writes.load(Ordering::Relaxed),
        })
    }

    fn next_random(&self) -> u64 {
        let mut x = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Decides what one event of the client→database stream suffers: an armed reset or stall
    /// consumes a count on a write (or unreadable bytes), latency delays every statement.
    fn on_event(&self, e: Event) -> Action {
        let write = match e {
            Event::Statement { write } => {
                self.statements.fetch_add(1, Ordering::Relaxed);
                if write {
                    self.writes.fetch_add(1, Ordering::Relaxed);
                }
                write
            }
            Event::Opaque => true,
        };
        let mut m = self.mode.lock().unwrap_or_else(|p| p.into_inner());
        match *m {
            Mode::None => Action::Pass,
            Mode::Reset { .. } | Mode::Stall { .. } if !write => Action::Pass,
            Mode::Reset { skip, .. } | Mode::Stall { skip, .. } if skip > 0 => {
                if let Mode::Reset { skip, .. } | Mode::Stall { skip, .. } = &mut *m {
                    *skip -= 1;
                }
                Action::Pass
            }
            Mode::Reset { count, .. } => {
                *m = if count > 1 {
                    Mode::Reset {
                        count: count - 1,
                        skip: 0,
                    }
                } else {
                    Mode::None
                };
                self.resets.fetch_add(1, Ordering::Relaxed);
                Action::Reset
            }
            Mode::Stall { ms, count, .. } => {
                *m = if count > 1 {
                    Mode::Stall {
                        ms,
                        count: count - 1,
                        skip: 0,
                    }
                } else {
                    Mode::None
                };
                self.stalls.fetch_add(1, Ordering::Relaxed);
                Action::Delay(ms)
            }
            Mode::Latency { ms } => {
                drop(m);
                Action::Delay(self.next_random() % (ms + 1))
            }
        }
    }
}

/// Serves the proxy until the listener fails.
pub async fn serve_proxy(listener: TcpListener, upstream: String, proxy: Arc<Proxy>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        proxy.connections.fetch_add(1, Ordering::Relaxed);
        let (upstream, proxy) = (upstream.clone(), proxy.clone());
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                return; // dropping the client closes it: the app sees "connection refused/closed"
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let up = async {
                let mut buf = vec![0u8; 16 * 1024];
                let mut wire = Wire::default();
                loop {
                    let n = match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    // the chunk that completes a write is held (stall) or dropped with the
                    // connection (reset): the statement never reaches the database
                    let mut delay = 0;
                    let mut reset = false;
                    for e in wire.feed(&buf[..n]) {
                        match proxy.on_event(e) {
                            Action::Pass => {}
                            Action::Delay(ms) => delay += ms,
                            Action::Reset => {
                                reset = true;
                                break;
                            }
                        }
                    }
                    if reset {
                        break;
                    }
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = sw.shutdown().await;
            };
            let down = async {
                let _ = tokio::io::copy(&mut sr, &mut cw).await;
                let _ = cw.shutdown().await;
            };
            // whichever side ends first ends the connection (a reset closes both)
            tokio::select! {
                _ = up => {}
                _ = down => {}
            }
        });
    }
}

/// The control endpoint's router.
pub fn control_router(proxy: Arc<Proxy>) -> axum::Router {
    async fn set(State(p): State<Arc<Proxy>>, Json(m): Json<Mode>) -> Json<Value> {
        p.arm(m);
        Json(p.counters())
    }
    async fn get(State(p): State<Arc<Proxy>>) -> Json<Value> {
        Json(p.counters())
    }
    axum::Router::new()
        .route("/faults", post(set).get(get))
        .with_state(proxy)
}

/// Binds both listeners and runs the proxy and its control endpoint (returns their addresses).
pub async fn start(
    listen: &str,
    upstream: &str,
    control: &str,
    seed: u64,
) -> std::io::Result<(SocketAddr, SocketAddr, Arc<Proxy>)> {
    let proxy = Proxy::new(seed);
    let l = TcpListener::bind(listen).await?;
    let c = TcpListener::bind(control).await?;
    let (la, ca) = (l.local_addr()?, c.local_addr()?);
    tokio::spawn(serve_proxy(l, upstream.to_string(), proxy.clone()));
    let router = control_router(proxy.clone());
    tokio::spawn(async move {
        let _ = axum::serve(c, router).await;
    });
    Ok((la, ca, proxy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_consumed_and_latency_is_seeded() {
        const W: Event = Event::Statement { write: true };
        let p = Proxy::new(7);
        p.arm(Mode::Reset { count: 2, skip: 0 });
        assert_eq!(p.on_event(W), Action::Reset);
        assert_eq!(p.on_event(Event::Opaque), Action::Reset);
        assert_eq!(p.on_event(W), Action::Pass);
        p.arm(Mode::Stall {
            ms: 30,
            count: 1,
            skip: 0,
        });
        assert_eq!(p.on_event(W), Action::Delay(30));
        assert_eq!(p.on_event(W), Action::Pass);
        p.arm(Mode::Latency { ms: 50 });
        let a: Vec<Action> = (0..5).map(|_| p.on_event(W)).collect();
        let q = Proxy::new(7);
        q.arm(Mode::Latency { ms: 50 });
        let b: Vec<Action> = (0..5).map(|_| q.on_event(W)).collect();
        assert_eq!(a, b, "same seed, same latencies");
        assert!(
            a.iter()
                .all(|x| matches!(x, Action::Delay(ms) if *ms <= 50))
        );
        assert_eq!(p.resets.load(Ordering::Relaxed), 2);
        assert_eq!(p.stalls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn reads_pass_an_armed_fault_and_leave_it_armed() {
        let p = Proxy::new(1);
        p.arm(Mode::Reset { count: 1, skip: 1 });
        assert_eq!(p.on_event(Event::Statement { write: false }), Action::Pass);
        assert_eq!(p.on_event(Event::Statement { write: true }), Action::Pass);
        assert_eq!(
            p.resets.load(Ordering::Relaxed),
            0,
            "the first write is skipped"
        );
        assert_eq!(p.on_event(Event::Statement { write: false }), Action::Pass);
        assert_eq!(p.on_event(Event::Statement { write: true }), Action::Reset);
        assert_eq!(p.on_event(Event::Statement { write: true }), Action::Pass);
        assert_eq!(p.resets.load(Ordering::Relaxed), 1);
        assert_eq!(p.statements.load(Ordering::Relaxed), 5);
        assert_eq!(p.writes.load(Ordering::Relaxed), 3);
    }
}
