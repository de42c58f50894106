//! `dst-sim proxy` between a client and a fake PostgreSQL server that speaks just enough of the
//! protocol (startup, then ReadyForQuery after every Sync or simple query): an armed fault passes
//! reads and fires on the next write, also when that write is a Bind of a statement prepared
//! before the fault was armed (asyncpg's cached statements), and the control endpoint counts it.

use api_client::{Client, ClientConfig, Method};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn startup() -> Vec<u8> {
    let body = b"\x00\x03\x00\x00user\x00app\x00database\x00app\x00\x00";
    let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    m.extend_from_slice(body);
    m
}

fn parse(name: &str, sql: &str) -> Vec<u8> {
    msg(b'P', format!("{name}\0{sql}\0\0\0").as_bytes())
}

/// Bind (unnamed portal, no parameters) + Execute + Sync: one run of a prepared statement.
fn run_prepared(name: &str) -> Vec<u8> {
    let mut m = msg(b'B', format!("\0{name}\0\0\0\0\0\0\0").as_bytes());
    m.extend(msg(b'E', b"\0\0\0\0\0"));
    m.extend(msg(b'S', b""));
    m
}

/// Message tags the fake server received, per connection, in order.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// A fake PostgreSQL server: trusts the startup message, answers ReadyForQuery ('Z') after each
/// Sync or simple Query, and records every message tag it received.
async fn fake_postgres(l: TcpListener, seen: Seen) {
    while let Ok((mut s, _)) = l.accept().await {
        let seen = seen.clone();
        tokio::spawn(async move {
            let conn = {
                let mut v = seen.lock().unwrap();
                v.push(Vec::new());
                v.len() - 1
            };
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut rest = vec![0u8; u32::from_be_bytes(len) as usize - 4];
            if s.read_exact(&mut rest).await.is_err() {
                return;
            }
            let mut hello = msg(b'R', &0u32.to_be_bytes());
            hello.extend(msg(b'Z', b"I"));
            let _ = s.write_all(&hello).await;
            loop {
                let mut head = [0u8; 5];
                if s.read_exact(&mut head).await.is_err() {
                    return;
                }
                let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize - 4;
                let mut body = vec![0u8; n];
                if s.read_exact(&mut body).await.is_err() {
                    return;
                }
                seen.lock().unwrap()[conn].push(head[0]);
                if matches!(head[0], b'S' | b'Q') {
                    let _ = s.write_all(&msg(b'Z', b"I")).await;
                }
            }
        });
    }
}

/// Reads until ReadyForQuery; `false` when the proxy closed the connection instead.
async fn ready(c: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    loop {
        match c.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if got.windows(6).any(|w| w == msg(b'Z', b"I").as_slice()) {
            return true;
        }
    }
}

async fn control(c: &Client, body: Option<Value>) -> Value {
    let r = match body {
        Some(b) => c.send_raw(Method::POST, "/faults", Some(&b)).await,
        None => c.send_raw(Method::GET, "/faults", None).await,
    }
    .unwrap();
    assert_eq!(r.status, 200);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_armed_fault_skips_reads_and_fires_on_a_cached_prepared_write() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_addr = upstream.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    tokio::spawn(fake_postgres(upstream, seen.clone()));
    let (listen, ctl, _) = dst_sim::proxy::start("127.0.0.1:0", &up_addr, "127.0.0.1:0", 3)
        .await
        .unwrap();
    let ctl = Client::new(ClientConfig::new(format!("http://{ctl}"))).unwrap();

    let mut c = TcpStream::connect(listen).await.unwrap();
    c.write_all(&startup()).await.unwrap();
    assert!(ready(&mut c).await, "startup passes through");
    // prepared before the fault is armed, as a pool's connection has them cached
    let mut prep = parse(
        "ins",
        "INSERT INTO feedback (title) VALUES ($1) RETURNING id",
    );
    prep.extend(parse(
        "sel",
        "SELECT user_id FROM api_keys WHERE key_hash = $1",
    ));
    prep.extend(msg(b'S', b""));
    c.write_all(&prep).await.unwrap();
    assert!(ready(&mut c).await);

    control(&ctl, Some(json!({"mode": "reset", "count": 1}))).await;
    c.write_all(&msg(b'Q', b"BEGIN\0")).await.unwrap();
    assert!(ready(&mut c).await, "a simple-protocol BEGIN is no write");
    c.write_all(&run_prepared("sel")).await.unwrap();
    assert!(ready(&mut c).await, "a read passes the armed fault");
    c.write_all(&run_prepared("ins")).await.unwrap();
    assert!(
        !ready(&mut c).await,
        "the cached INSERT's Bind resets the connection"
    );

    let counters = control(&ctl, None).await;
    assert_eq!(counters["resets"], 1, "{counters}");
    assert_eq!(counters["writes"], 1, "{counters}");
    assert_eq!(counters["statements"], 3, "{counters}");
    assert_eq!(counters["mode"]["mode"], "none", "the count is spent");
    // the server got the read's Bind but never the write's: the statement did not run
    let tags = seen.lock().unwrap()[0].clone();
    assert_eq!(
        tags,
        b"PPSQBES".to_vec(),
        "{:?}",
        String::from_utf8_lossy(&tags)
    );

    // a stall holds the next write (a simple-protocol UPDATE here) and lets it through
    let mut c = TcpStream::connect(listen).await.unwrap();
    c.write_all(&startup()).await.unwrap();
    assert!(ready(&mut c).await);
    control(&ctl, Some(json!({"mode": "stall", "ms": 20, "count": 1}))).await;
    c.write_all(&msg(b'Q', b"SELECT 1\0")).await.unwrap();
    assert!(ready(&mut c).await);
    c.write_all(&msg(b'Q', b"UPDATE feedback SET upvotes = upvotes + 1\0"))
        .await
        .unwrap();
    assert!(ready(&mut c).await, "a stalled write still runs");
    let counters = control(&ctl, None).await;
    assert_eq!(counters["stalls"], 1, "{counters}");
    assert_eq!(counters["resets"], 1, "{counters}");
    assert_eq!(counters["writes"], 2, "{counters}");
    assert_eq!(seen.lock().unwrap()[1], b"QQ".to_vec());
}
