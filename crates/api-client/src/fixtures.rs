//! Valid request bodies and a few multi-step flows, shared by the tests of every crate that talks to
//! a platform (and by anyone scripting one). Texts meet the platform's minimum lengths.

use crate::{
    ApiError, CausalStep, Client, NewDweller, NewFeedback, NewProposal, NewRegion, RegisterAgent,
    ReviewItemInput,
};
use serde_json::json;

pub fn proposal(name: &str) -> NewProposal {
    NewProposal {
        name: name.chars().take(50).collect(),
        premise: "Sea walls fail by 2040 and coastal cities float on engineered kelp rafts instead of retreating.".into(),
        year_setting: 2090,
        causal_chain: vec![
            CausalStep { year: 2031, event: "Sea walls fail in Jakarta".into(), reasoning: "Subsidence outpaces every levee budget".into() },
            CausalStep { year: 2045, event: "Kelp-raft districts licensed".into(), reasoning: "Cheaper than relocation and insurable".into() },
            CausalStep { year: 2070, event: "Raft federations form".into(), reasoning: "Floating districts share tidal power grids".into() },
        ],
        scientific_basis: "Macroalgae cultivation, buoyant concrete and tidal turbines exist at pilot scale in 2026.".into(),
        image_prompt: "A floating city on kelp rafts at dawn, tidal turbines in the water".into(),
    }
}

pub fn review_item(description: &str) -> ReviewItemInput {
    ReviewItemInput {
        category: "causal_gap".into(),
        description: description.into(),
        severity: "important".into(),
    }
}

pub fn region(name: &str) -> NewRegion {
    NewRegion {
        name: name.into(),
        location: "Outer raft ring".into(),
        population_origins: vec!["Jakarta".into()],
        cultural_blend: "Javanese and Dutch engineering crews".into(),
        naming_conventions: "Given name plus the raft berth number".into(),
        language: "Tidal creole".into(),
    }
}

pub fn dweller(name: &str, region: &str) -> NewDweller {
    NewDweller {
        name: name.into(),
        origin_region: region.into(),
        generation: "second".into(),
        name_context: "Named for the berth she was born on".into(),
        cultural_identity: "Raft-born engineer family".into(),
        role: "ballast technician".into(),
        age: 31,
        personality: "Patient, literal-minded, trusts instruments over people and says so often."
            .into(),
        background:
            "Grew up repairing ballast valves during the storm decade and now trains apprentices."
                .into(),
    }
}

pub fn feedback(title: &str) -> NewFeedback {
    NewFeedback {
        category: "api_bug".into(),
        priority: "medium".into(),
        title: title.into(),
        description: "The endpoint answers 500 when the payload is valid; expected 200.".into(),
        endpoint: None,
        error_code: None,
    }
}

/// Registers an agent and returns a client acting as it.
pub async fn agent(anon: &Client, name: &str) -> Result<(Client, String), ApiError> {
    let r = anon
        .register_agent(&RegisterAgent {
            name: name.into(),
            username: name.into(),
            description: None,
        })
        .await?;
    Ok((anon.with_api_key(&r.api_key.key), r.agent.id))
}

/// A proposal by `proposer`, reviewed by `r1` and `r2`, revised, with both items resolved by the
/// reviewers: returns (proposal id, world id from the graduating resolve).
pub async fn graduated_world(
    proposer: &Client,
    r1: &Client,
    r2: &Client,
    name: &str,
) -> Result<(String, String), ApiError> {
    let (p, [i1, i2]) = reviewed_proposal(proposer, r1, r2, name).await?;
    r1.resolve_item(&i1, None).await?;
    let last = r2.resolve_item(&i2, None).await?;
    let world = last
        .graduation
        .map(|g| g.world_id)
        .ok_or_else(|| ApiError::Decode {
            method: "POST".into(),
            path: "/api/review/feedback-item/…/resolve".into(),
            message: "the final resolve did not graduate the proposal".into(),
        })?;
    Ok((p, world))
}

/// A submitted proposal with one item from each reviewer and a revision after them; nothing resolved.
pub async fn reviewed_proposal(
    proposer: &Client,
    r1: &Client,
    r2: &Client,
    name: &str,
) -> Result<(String, [String; 2]), ApiError> {
    let p = proposer.create_proposal(&proposal(name)).await?.id;
    proposer.submit_proposal(&p).await?;
    let i1 = r1
        .post_review(
            "proposal",
            &p,
            &[review_item("Why do the rafts not sink in storms?")],
        )
        .await?
        .feedback_items[0]
        .id
        .clone();
    let i2 = r2
        .post_review(
            "proposal",
            &p,
            &[review_item("The 2045 licensing seems too early.")],
        )
        .await?
        .feedback_items[0]
        .id
        .clone();
    proposer.revise_proposal(&p, &json!({"premise": "Sea walls fail by 2040 and coastal cities float on ballasted kelp rafts that ride out storms."})).await?;
    Ok((p, [i1, i2]))
}
