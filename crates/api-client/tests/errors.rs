//! Transport and decoding errors are clear, typed, and never carry the API key.

use api_client::{ApiError, Client, ClientConfig, Method, Observer};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "dsf_SECRETSECRETSECRETSECRETSECRETSECRET123";

#[tokio::test]
async fn unreachable_server_is_a_connect_error_without_the_key() {
    // a port nothing listens on: bind, take the port, drop the listener
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new(ClientConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        api_key: Some(KEY.into()),
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let e = c.health().await.unwrap_err();
    assert!(matches!(e, ApiError::Connect { .. }), "{e:?}");
    assert!(!format!("{e} {e:?} {c:?}").contains(KEY));
}

#[tokio::test]
async fn bad_base_url_is_a_config_error() {
    assert!(matches!(
        Client::new(ClientConfig::new("127.0.0.1:8000")),
        Err(ApiError::Config(_))
    ));
}

#[tokio::test]
async fn http_errors_carry_status_and_parsed_bodies() {
    let p = reference_platform::start(Default::default()).await.unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    // 401 agent_error shape
    let e = c.with_api_key(KEY).verify_key().await.unwrap_err();
    match &e {
        ApiError::Http {
            status: 401, body, ..
        } => {
            assert_eq!(body.error.as_deref(), Some("Invalid or revoked API key"));
            assert!(body.how_to_fix.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{e} {e:?}").contains(KEY),
        "the key is never echoed"
    );
    // 422 validation shape
    let e = c
        .register_agent(&api_client::RegisterAgent {
            name: "n".into(),
            username: "".into(),
            description: None,
        })
        .await
        .unwrap_err();
    match e {
        ApiError::Http {
            status: 422, body, ..
        } => {
            assert_eq!(body.error.as_deref(), Some("Validation Error"));
            assert!(
                body.validation.iter().any(|(f, _)| f.contains("username")),
                "{:?}",
                body.validation
            );
        }
        other => panic!("{other:?}"),
    }
    // string detail (world 404)
    let e = c
        .get_world("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    match e {
        ApiError::Http {
            status: 404, body, ..
        } => assert_eq!(body.error.as_deref(), Some("World not found")),
        other => panic!("{other:?}"),
    }
    p.shutdown().await;
}

#[tokio::test]
async fn missing_required_field_names_the_field() {
    let p = reference_platform::start(Default::default()).await.unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    // /health has no `agent` field: decoding it as a VerifiedKey must name what is missing
    let e = c
        .call::<api_client::VerifiedKey>(Method::GET, "/health", None)
        .await
        .unwrap_err();
    match e {
        ApiError::Decode { message, .. } => {
            assert!(message.contains("missing field `valid`"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    p.shutdown().await;
}

#[tokio::test]
async fn observer_sees_every_exchange_and_no_headers() {
    #[derive(Default)]
    struct Rec(Mutex<Vec<api_client::Exchange>>);
    impl Observer for Rec {
        fn on_exchange(&self, ex: &api_client::Exchange) {
            self.0.lock().unwrap().push(ex.clone());
        }
    }
    let p = reference_platform::start(Default::default()).await.unwrap();
    let rec = Arc::new(Rec::default());
    let c = Client::new(ClientConfig::new(&p.base_url))
        .unwrap()
        .with_observer(rec.clone());
    let (a, _) = api_client::fixtures::agent(&c, "obs").await.unwrap();
    let _ = a
        .upvote_feedback("00000000-0000-0000-0000-000000000000")
        .await;
    let seen = rec.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (
            seen[0].method.as_str(),
            seen[0].path.as_str(),
            seen[0].status
        ),
        ("POST", "/api/auth/agent", Some(200))
    );
    assert_eq!(seen[1].status, Some(404));
    let dump = format!("{:?}", seen[1]);
    assert!(!dump.contains("X-API-Key"));
    p.shutdown().await;
}

#[tokio::test]
async fn timeouts_are_reported_as_timeouts() {
    // a listener that accepts and never answers
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            socks.push(s);
        }
    });
    let c = Client::new(ClientConfig {
        base_url: format!("http://{addr}"),
        api_key: None,
        timeout: Duration::from_millis(300),
    })
    .unwrap();
    let e = c.health().await.unwrap_err();
    assert!(matches!(e, ApiError::Timeout { .. }), "{e:?}");
    hold.abort();
}

/// `send_raw_json_text` sends its text byte for byte, with the JSON content type: a lone surrogate
/// escape, which no `serde_json::Value` can hold, reaches the server as written.
#[tokio::test]
async fn raw_json_text_is_sent_as_written() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // read until the body's closing brace arrives (one small request)
        while !got.ends_with(b"}") {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
            .await
            .unwrap();
        String::from_utf8(got).unwrap()
    });
    let c = Client::new(ClientConfig::new(format!("http://{addr}"))).unwrap();
    let text = r#"{"title": "a\ud800b"}"#;
    let r = c
        .send_raw_json_text(Method::POST, "/api/feedback", text)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let request = server.await.unwrap().to_ascii_lowercase();
    assert!(
        request.contains("content-type: application/json"),
        "{request}"
    );
    assert!(request.ends_with(r#"{"title": "a\ud800b"}"#), "{request}");
}

/// The reference platform refuses a lone surrogate in a JSON body with its 422 (serde_json
/// rejects the escape), never a 5xx.
#[tokio::test]
async fn reference_platform_refuses_lone_surrogates_with_4xx() {
    let p = reference_platform::start(Default::default()).await.unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    let (a, _) = api_client::fixtures::agent(&c, "surrogate-probe")
        .await
        .unwrap();
    for text in [
        r#"{"category": "api_bug", "priority": "medium", "title": "Lone \ud800 title", "description": "The endpoint answers 500 when the payload is valid; expected 200."}"#,
        r#"{"category": "api_bug", "priority": "medium", "title": "Lone surrogate body", "description": "A description with a lone low surrogate \udfff in its middle."}"#,
    ] {
        let r = a
            .send_raw_json_text(Method::POST, "/api/feedback", text)
            .await
            .unwrap();
        assert_eq!(r.status, 422, "{}", r.text);
    }
    // the same text without the surrogate is accepted: the 422 is the escape's
    let ok = r#"{"category": "api_bug", "priority": "medium", "title": "Plain title here", "description": "The endpoint answers 500 when the payload is valid; expected 200."}"#;
    let r = a
        .send_raw_json_text(Method::POST, "/api/feedback", ok)
        .await
        .unwrap();
    assert!(r.status < 300, "{} {}", r.status, r.text);
    p.shutdown().await;
}
