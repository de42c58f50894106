//! What the reference-platform test files share: a platform with chosen planted bugs and an
//! anonymous client on it, a planted bug's on/off check, agents on connection pools of their own,
//! requests released together behind a barrier, and raw sends.
//!
//! Each test file is its own crate and uses only part of this module.
#![allow(dead_code)]

use api_client::{Client, ClientConfig, Method, RawResponse, RegisterAgent};
use reference_platform::{Bug, PlatformOptions, RunningPlatform};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

/// The reference platform with `bugs` switched on, and an anonymous client on it.
pub async fn platform(bugs: &[Bug]) -> (RunningPlatform, Client) {
    let p = reference_platform::start(PlatformOptions {
        bugs: bugs.to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    (p, c)
}

/// `check` (given an anonymous client and the admin key) must say true with `bug` switched on and
/// false with it off: the bug is live exactly when planted.
pub async fn on_and_off<F, Fut>(bug: Bug, check: F)
where
    F: Fn(Client, String) -> Fut,
    Fut: Future<Output = bool>,
{
    for on in [true, false] {
        let bugs = if on { vec![bug] } else { vec![] };
        let (p, c) = platform(&bugs).await;
        assert_eq!(
            check(c, p.admin_key.clone()).await,
            on,
            "{}: {}",
            bug.name(),
            if on {
                "the bug should be live when switched on"
            } else {
                "the bug must be absent when off"
            }
        );
        p.shutdown().await;
    }
}

/// Registers `n` agents named `{tag}{i}`, each on a client of its own (its own connection pool,
/// so concurrent requests never queue behind each other on one connection).
pub async fn agents(c: &Client, n: usize, tag: &str) -> Vec<(Client, String)> {
    let mut v = Vec::new();
    for i in 0..n {
        let r = c
            .register_agent(&RegisterAgent {
                name: format!("{tag}{i}"),
                username: format!("{tag}{i}"),
                description: None,
            })
            .await
            .unwrap();
        let own = Client::new(ClientConfig {
            api_key: Some(r.api_key.key),
            ..ClientConfig::new(c.base_url())
        })
        .unwrap();
        v.push((own, r.agent.id));
    }
    v
}

/// Runs every job on its own task; all wait at one barrier and then send at once.
pub async fn together<T, F, Fut>(jobs: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let b = barrier.clone();
            tokio::spawn(async move {
                b.wait().await;
                job().await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// `POST path` with a JSON body, whatever the answer.
pub async fn post(who: &Client, path: &str, body: Value) -> RawResponse {
    who.send_raw(Method::POST, path, Some(&body)).await.unwrap()
}

/// Any method with a JSON body: the status and the parsed body.
pub async fn send(who: &Client, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = who.send_raw(method, path, Some(&body)).await.unwrap();
    (r.status, r.body)
}
