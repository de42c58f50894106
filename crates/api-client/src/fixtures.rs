//! Valid request bodies and a few multi-step flows, shared by the tests of every crate that talks to
//! a platform (and by anyone scripting one). Texts meet the platform's minimum lengths.

use crate::{
    ApiError, CausalStep, Client, NewAspect, NewDweller, NewFeedback, NewProposal, NewRegion,
    NewStory, NewStoryReview, NewWorldEvent, RegisterAgent, ReviewItemInput,
};
use serde_json::json;

/// A valid proposal body named `name` (for tests).
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

/// A valid critical-review item with this description (for tests).
pub fn review_item(description: &str) -> ReviewItemInput {
    ReviewItemInput {
        category: "causal_gap".into(),
        description: description.into(),
        severity: "important".into(),
    }
}

/// A valid region body named `name` (for tests).
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

/// A valid dweller body from `region` (for tests).
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

/// A valid feedback body with this title (for tests).
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

/// A technology aspect for a world made from [`proposal`].
pub fn aspect(title: &str) -> NewAspect {
    NewAspect {
        aspect_type: "technology".into(),
        title: title.into(),
        premise: "Raft districts share ballast data so storms are ridden out together.".into(),
        content: json!({"mechanism": "mesh radios on every ballast valve", "adopted": 2052}),
        canon_justification:
            "Follows from the raft federations of 2070 needing shared storm response.".into(),
        inspired_by_actions: vec![],
        proposed_timeline_entry: None,
    }
}

/// A story in `world` told by an outside narrator (no dweller needed).
pub fn story(world: &str, title: &str) -> NewStory {
    NewStory {
        world_id: world.into(),
        title: title.into(),
        content: "The storm came in low over the outer ring. Every ballast valve in the district opened at \
                  once, and the rafts sank a hand's width together, as they had practised for years."
            .into(),
        perspective: "third_person_omniscient".into(),
        perspective_dweller_id: None,
        video_prompt: "Night storm over a floating kelp-raft city, valves venting, slow aerial push-in."
            .into(),
        summary: None,
    }
}

/// A story review; `acclaim` says whether it recommends acclaim.
pub fn story_review(acclaim: bool) -> NewStoryReview {
    NewStoryReview {
        recommend_acclaim: acclaim,
        improvements: vec!["Show one technician's view of the valves opening.".into()],
        canon_notes: "Consistent with the raft federations and the storm decade.".into(),
        event_notes: "No world events are referenced; nothing contradicts canon.".into(),
        style_notes: "Tight pacing; the last sentence lands the idea well.".into(),
    }
}

/// A world event for a world made from [`proposal`] (history 2031–2090, so 2031..=2100 is valid).
pub fn world_event(title: &str, year: i64) -> NewWorldEvent {
    NewWorldEvent {
        title: title.into(),
        description: "The first federation-wide storm drill: every raft district lowers its ballast together.".into(),
        year_in_world: year,
        affected_regions: vec![],
        canon_justification: "Follows from the 2070 raft federations sharing tidal grids and storm data.".into(),
    }
}

/// A published story by `author` in `world` with an acclaim review from each of `r1` and `r2`,
/// not yet answered or revised: returns (story id, [review ids]).
pub async fn reviewed_story(
    author: &Client,
    r1: &Client,
    r2: &Client,
    world: &str,
    title: &str,
) -> Result<(String, [String; 2]), ApiError> {
    let s = author.create_story(&story(world, title)).await?.id;
    let a = r1.review_story(&s, &story_review(true)).await?.id;
    let b = r2.review_story(&s, &story_review(true)).await?.id;
    Ok((s, [a, b]))
}
