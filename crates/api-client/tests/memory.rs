//! The reference platform's dweller memory routes and their planted bugs, over real HTTP on
//! loopback: `memory-edit-lost` (a second edit of a non-empty field is answered but not stored)
//! and `memory-any-agent` (no inhabitant check), each live when switched on and absent when off.

mod common;
use common::{platform, send};

use api_client::fixtures::{self, agent};
use api_client::{Client, Method};
use reference_platform::Bug;
use serde_json::json;

/// A world (created by `creator`) with one dweller claimed by `holder`; returns the dweller id.
async fn claimed_dweller(creator: &Client, r1: &Client, r2: &Client, holder: &Client) -> String {
    let (_, w) = fixtures::graduated_world(creator, r1, r2, "Memory world")
        .await
        .unwrap();
    creator
        .create_region(&w, &fixtures::region("Kelp Ward"))
        .await
        .unwrap();
    let d = creator
        .create_dweller(&w, &fixtures::dweller("Sari", "Kelp Ward"))
        .await
        .unwrap()
        .id;
    holder.claim_dweller(&d).await.unwrap();
    d
}

/// Two core edits, two relationship events, two personality merges and two reflections by the
/// inhabitant: returns whether the read-back lost any of what the answers showed.
async fn second_edits_lost(c: Client) -> bool {
    let (a, _) = agent(&c, "creator").await.unwrap();
    let (b, _) = agent(&c, "r1").await.unwrap();
    let (x, _) = agent(&c, "r2").await.unwrap();
    let (h, _) = agent(&c, "holder").await.unwrap();
    let d = claimed_dweller(&a, &b, &x, &h).await;
    let base = format!("/api/dwellers/{d}");
    for m in ["first memory", "second memory"] {
        let (s, body) = send(
            &h,
            Method::PATCH,
            &format!("{base}/memory/core"),
            json!({"add": [m]}),
        )
        .await;
        assert_eq!(s, 200);
        assert!(
            body["core_memories"]
                .as_array()
                .unwrap()
                .contains(&json!(m)),
            "the answer shows the edit"
        );
    }
    for e in ["met at the dock", "argued about ballast"] {
        let body = json!({"target": "Dweller 1", "add_event": {"event": e}});
        assert_eq!(
            send(
                &h,
                Method::PATCH,
                &format!("{base}/memory/relationship"),
                body
            )
            .await
            .0,
            200
        );
    }
    for (k, v) in [("values", json!(["candour"])), ("quirks", json!("hums"))] {
        let body = json!({"updates": {k: v}});
        assert_eq!(
            send(
                &h,
                Method::PATCH,
                &format!("{base}/memory/personality"),
                body
            )
            .await
            .0,
            200
        );
    }
    for r in [
        "The tide repeats what the council forgets.",
        "Every valve I trust fails at night.",
    ] {
        let body = json!({"content": r});
        assert_eq!(
            send(&h, Method::POST, &format!("{base}/memory/reflect"), body)
                .await
                .0,
            200
        );
    }
    let (s, read) = send(&h, Method::GET, &format!("{base}/memory"), json!({})).await;
    assert_eq!(s, 200);
    let m = &read["memory"];
    let reflections = m["episodic_memories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "reflection")
        .count();
    let kept = m["core_memories"] == json!(["first memory", "second memory"])
        && m["relationship_memories"]["Dweller 1"]["history"]
            .as_array()
            .map(Vec::len)
            == Some(2)
        && m["personality_blocks"]["quirks"] == json!("hums")
        && reflections == 2;
    !kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_edit_lost() {
    let (p, c) = platform(&[Bug::MemoryEditLost]).await;
    assert!(
        second_edits_lost(c).await,
        "memory-edit-lost: the bug should be live when switched on"
    );
    p.shutdown().await;
    let (p, c) = platform(&[]).await;
    assert!(
        !second_edits_lost(c).await,
        "memory-edit-lost: the bug must be absent when off"
    );
    p.shutdown().await;
}

/// A bystander's edits of someone else's dweller: returns how many were accepted (of four), and
/// checks the world's creator may always edit personality, and nobody else may read the memory.
async fn bystander_edits(c: Client) -> usize {
    let (a, _) = agent(&c, "creator").await.unwrap();
    let (b, _) = agent(&c, "r1").await.unwrap();
    let (x, _) = agent(&c, "r2").await.unwrap();
    let (h, _) = agent(&c, "holder").await.unwrap();
    let (y, _) = agent(&c, "bystander").await.unwrap();
    let d = claimed_dweller(&a, &b, &x, &h).await;
    let base = format!("/api/dwellers/{d}");
    let edits = [
        (Method::PATCH, "memory/core", json!({"add": ["planted"]})),
        (
            Method::PATCH,
            "memory/relationship",
            json!({"target": "Dweller 1"}),
        ),
        (Method::PATCH, "situation", json!({"situation": "Stranded"})),
        (
            Method::PATCH,
            "memory/personality",
            json!({"updates": {"quirks": "hums"}}),
        ),
    ];
    let mut accepted = 0;
    for (m, tail, body) in edits {
        match send(&y, m, &format!("{base}/{tail}"), body).await.0 {
            200 => accepted += 1,
            s => assert_eq!(s, 403, "{tail}"),
        }
    }
    let creator = json!({"updates": {"fears": ["deep water"]}});
    let (s, body) = send(
        &a,
        Method::PATCH,
        &format!("{base}/memory/personality"),
        creator,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["updated_by"], "creator");
    assert_eq!(
        send(&y, Method::GET, &format!("{base}/memory"), json!({}))
            .await
            .0,
        403
    );
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_any_agent() {
    let (p, c) = platform(&[Bug::MemoryAnyAgent]).await;
    assert_eq!(
        bystander_edits(c).await,
        4,
        "memory-any-agent: the bug should be live when switched on"
    );
    p.shutdown().await;
    let (p, c) = platform(&[]).await;
    assert_eq!(
        bystander_edits(c).await,
        0,
        "memory-any-agent: the bug must be absent when off"
    );
    p.shutdown().await;
}

/// The public dweller read shows the situation, personality and relationships an edit stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_dweller_read_shows_the_edited_fields() {
    let (p, c) = platform(&[]).await;
    let (a, _) = agent(&c, "creator").await.unwrap();
    let (b, _) = agent(&c, "r1").await.unwrap();
    let (x, _) = agent(&c, "r2").await.unwrap();
    let (h, _) = agent(&c, "holder").await.unwrap();
    let d = claimed_dweller(&a, &b, &x, &h).await;
    let base = format!("/api/dwellers/{d}");
    assert_eq!(
        send(
            &h,
            Method::PATCH,
            &format!("{base}/situation"),
            json!({"situation": "On watch"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        send(&h, Method::PATCH, &format!("{base}/situation"), json!({}))
            .await
            .0,
        422
    );
    let ev = json!({"target": "Dweller 1", "new_status": "ally", "add_event": {"event": "x", "sentiment": 3}});
    assert_eq!(
        send(
            &h,
            Method::PATCH,
            &format!("{base}/memory/relationship"),
            ev
        )
        .await
        .0,
        422
    );
    let r = json!({"content": "too short"});
    assert_eq!(
        send(&h, Method::POST, &format!("{base}/memory/reflect"), r)
            .await
            .0,
        422
    );
    let (_, read) = send(&c, Method::GET, &base, json!({})).await;
    assert_eq!(read["dweller"]["current_situation"], "On watch");
    assert_eq!(read["dweller"]["relationship_memories"], json!({}));
    p.shutdown().await;
}
