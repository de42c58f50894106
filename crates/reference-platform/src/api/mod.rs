//! The HTTP routes: every path the platform serves and the handler behind it, the fallback 404,
//! and the layers (idempotency keys; the fault scope with fault control). The handlers live in one
//! file per resource.

mod actions;
mod agents;
mod aspect_approval;
mod aspects;
mod dweller_proposals;
mod dwellers;
mod events;
mod feedback;
mod health;
mod memory;
mod proposals;
mod reactions;
mod review;
mod social;
mod stories;
mod suggestions;
mod test_faults;
mod worlds;

use crate::state::AppState;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use serde_json::json;
use std::sync::Arc;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let fault_control = state.db.faults().is_some();
    let mut r = Router::new();
    if fault_control {
        r = r.route(
            "/api/test/db-faults",
            post(test_faults::arm).get(test_faults::counts),
        );
    }
    r = r
        .route("/health", get(health::health))
        .route("/api/health", get(health::health))
        .route("/api/platform/health", get(health::platform_health))
        // agents
        .route("/api/auth/agent", post(agents::register))
        .route("/api/auth/verify", get(agents::verify))
        .route("/api/agents", get(agents::list))
        // proposals
        .route(
            "/api/proposals",
            post(proposals::create).get(proposals::list),
        )
        .route("/api/proposals/{id}", get(proposals::get))
        .route("/api/proposals/{id}/submit", post(proposals::submit))
        .route("/api/proposals/{id}/revise", post(proposals::revise))
        .route(
            "/api/proposals/{id}/test-approve",
            post(proposals::test_approve),
        )
        // critical review of proposals, aspects and stories
        .route(
            "/api/review/{ctype}/{id}/feedback",
            post(review::post).get(review::list),
        )
        .route("/api/review/{ctype}/{id}/status", get(review::status))
        .route(
            "/api/review/{ctype}/{id}/add-feedback",
            post(review::add_feedback),
        )
        .route(
            "/api/review/feedback-item/{item}/respond",
            post(review::respond),
        )
        .route(
            "/api/review/feedback-item/{item}/resolve",
            post(review::resolve),
        )
        .route(
            "/api/review/feedback-item/{item}/reopen",
            post(review::reopen),
        )
        // worlds, regions, dwellers
        .route("/api/worlds", get(worlds::list))
        .route("/api/worlds/{id}", get(worlds::get))
        .route(
            "/api/dwellers/worlds/{wid}/regions",
            post(dwellers::create_region).get(dwellers::list_regions),
        )
        .route(
            "/api/dwellers/worlds/{wid}/dwellers",
            post(dwellers::create).get(dwellers::list),
        )
        .route("/api/dwellers/{id}", get(dwellers::get))
        .route("/api/dwellers/{id}/claim", post(dwellers::claim))
        .route("/api/dwellers/{id}/release", post(dwellers::release))
        .route(
            "/api/dwellers/{id}/act/context",
            post(dwellers::act_context),
        )
        .route("/api/dwellers/{id}/act", post(dwellers::act))
        .route("/api/dwellers/{id}/memory", get(memory::get))
        .route("/api/dwellers/{id}/memory/core", patch(memory::core))
        .route(
            "/api/dwellers/{id}/memory/relationship",
            patch(memory::relationship),
        )
        .route(
            "/api/dwellers/{id}/memory/personality",
            patch(memory::personality),
        )
        .route("/api/dwellers/{id}/memory/reflect", post(memory::reflect))
        .route(
            "/api/dwellers/{id}/memory/summarize",
            post(memory::summarize),
        )
        .route("/api/dwellers/{id}/memory/search", get(memory::search))
        .route("/api/dwellers/{id}/situation", patch(memory::situation))
        // platform feedback
        .route("/api/feedback", post(feedback::create))
        .route("/api/feedback/summary", get(feedback::summary))
        .route("/api/feedback/list", get(feedback::list))
        .route("/api/feedback/changelog", get(feedback::changelog))
        .route("/api/feedback/{id}", get(feedback::get))
        .route("/api/feedback/{id}/upvote", post(feedback::upvote))
        .route("/api/feedback/{id}/status", patch(feedback::set_status))
        // aspects
        .route(
            "/api/aspects/worlds/{wid}/aspects",
            post(aspects::create).get(aspects::list),
        )
        .route("/api/aspects/worlds/{wid}/canon", get(aspects::canon))
        .route("/api/aspects/{id}", get(aspects::get))
        .route("/api/aspects/{id}/submit", post(aspects::submit))
        .route("/api/aspects/{id}/revise", post(aspects::revise))
        .route(
            "/api/aspects/{id}/test-approve",
            post(aspect_approval::test_approve),
        )
        // stories
        .route("/api/stories", post(stories::create).get(stories::list))
        .route("/api/stories/{id}", get(stories::get))
        .route("/api/stories/{id}/reviews", get(stories::reviews))
        .route("/api/stories/{id}/review", post(stories::review))
        .route(
            "/api/stories/{sid}/reviews/{rid}/respond",
            post(stories::respond),
        )
        .route("/api/stories/{id}/revise", post(stories::revise))
        .route("/api/stories/{id}/react", post(reactions::react))
        .route("/api/social/react", post(reactions::social_react))
        // follows and comments
        .route("/api/social/follow", post(social::follow))
        .route("/api/social/unfollow", post(social::unfollow))
        .route("/api/social/following", get(social::following))
        .route("/api/social/followers/{wid}", get(social::followers))
        .route("/api/social/comment", post(social::comment))
        .route("/api/social/comments/{ttype}/{tid}", get(social::comments))
        // world events
        .route(
            "/api/events/worlds/{wid}/events",
            post(events::create).get(events::list),
        )
        .route("/api/events/{id}", get(events::get))
        .route("/api/events/{id}/approve", post(events::approve))
        .route("/api/events/{id}/reject", post(events::reject))
        // dweller actions (the second act path) and their escalation to world events
        .route("/api/actions", post(actions::submit))
        .route("/api/actions/{id}", get(actions::get))
        .route(
            "/api/actions/{id}/confirm-importance",
            post(actions::confirm),
        )
        .route("/api/actions/{id}/escalate", post(actions::escalate))
        .route("/api/actions/{id}/nominate", post(actions::nominate))
        // dweller proposals (their critical review is the review routes' `dweller_proposal`)
        .route("/api/dweller-proposals", get(dweller_proposals::list))
        .route(
            "/api/dweller-proposals/worlds/{wid}",
            post(dweller_proposals::create),
        )
        .route("/api/dweller-proposals/{id}", get(dweller_proposals::get))
        .route(
            "/api/dweller-proposals/{id}/submit",
            post(dweller_proposals::submit),
        )
        .route(
            "/api/dweller-proposals/{id}/revise",
            post(dweller_proposals::revise),
        )
        // revision suggestions (a second write path to proposals and aspects)
        .route(
            "/api/suggestions/proposals/{id}/suggest-revision",
            post(suggestions::suggest_proposal),
        )
        .route(
            "/api/suggestions/aspects/{id}/suggest-revision",
            post(suggestions::suggest_aspect),
        )
        .route(
            "/api/suggestions/proposals/{id}/suggestions",
            get(suggestions::list_proposal),
        )
        .route(
            "/api/suggestions/aspects/{id}/suggestions",
            get(suggestions::list_aspect),
        )
        .route("/api/suggestions/{id}", get(suggestions::get))
        .route("/api/suggestions/{id}/accept", post(suggestions::accept))
        .route("/api/suggestions/{id}/reject", post(suggestions::reject))
        .route("/api/suggestions/{id}/upvote", post(suggestions::upvote))
        .route(
            "/api/suggestions/{id}/withdraw",
            post(suggestions::withdraw),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"detail": "Not Found"})),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::layer,
        ));
    if fault_control {
        r = r.layer(axum::middleware::from_fn(crate::faults::scope_layer));
        // outermost: a seeded race's racers wait at its door before anything else runs
        r = r.layer(axum::middleware::from_fn_with_state(
            Arc::new(crate::schedule::Races::default()),
            crate::schedule::gate_layer,
        ));
    }
    r.with_state(state)
}
