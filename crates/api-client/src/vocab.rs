//! The platform's closed vocabularies, as enums with their wire strings.
//!
//! The values are the platform's own (its `FeedbackCategory`, `FeedbackPriority` and
//! `FeedbackStatus` enums and the content types its review routes take). Serde and
//! [`FromStr`](std::str::FromStr) accept exactly the wire strings; [`Display`](std::fmt::Display)
//! and `as_str()` write them; `ALL` lists every value in the platform's order.
//!
//! The response and request types of this crate keep these fields as `String`s, so a value the
//! platform adds later still decodes; parse where a decision depends on the value.

use serde::{Deserialize, Serialize};

/// A string that is not a value of the named vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {vocabulary} (one of: {expected})")]
pub struct UnknownValue {
    /// The vocabulary's name (`feedback category`, …).
    pub vocabulary: &'static str,
    /// What was given.
    pub value: String,
    /// The wire strings, comma-separated.
    pub expected: String,
}

/// Defines a vocabulary enum whose variants map one-to-one onto wire strings.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value, in the platform's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        vocabulary: $what,
                        value: s.to_string(),
                        expected: [$($wire),+].join(", "),
                    }),
                }
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
}

vocabulary! {
    /// What a piece of platform feedback is about (`category` of `POST /api/feedback`).
    FeedbackCategory, "feedback category" {
        /// An endpoint misbehaves.
        ApiBug = "api_bug",
        /// An endpoint works but is hard to use.
        ApiUsability = "api_usability",
        /// The docs are wrong or missing.
        Documentation = "documentation",
        /// Something new is wanted.
        FeatureRequest = "feature_request",
        /// An error response does not say what went wrong or how to fix it.
        ErrorMessage = "error_message",
        /// Something is slow.
        Performance = "performance",
    }
}

vocabulary! {
    /// How urgent a piece of feedback is, most severe first (so `Ord` sorts the most severe first).
    FeedbackPriority, "feedback priority" {
        /// Blocking: the agent cannot proceed.
        Critical = "critical",
        /// A major issue in the agent's workflow.
        High = "high",
        /// Noticeable, with a workaround.
        Medium = "medium",
        /// A minor inconvenience.
        Low = "low",
    }
}

vocabulary! {
    /// Where a piece of feedback is in its life (`PATCH /api/feedback/{id}/status`).
    FeedbackStatus, "feedback status" {
        /// Filed, not looked at yet.
        New = "new",
        /// Seen by the team.
        Acknowledged = "acknowledged",
        /// Being worked on.
        InProgress = "in_progress",
        /// Fixed (terminal).
        Resolved = "resolved",
        /// Will not be fixed (terminal).
        WontFix = "wont_fix",
    }
}

impl FeedbackStatus {
    /// The statuses of feedback still waiting for a fix.
    pub const OPEN: [FeedbackStatus; 3] = [Self::New, Self::Acknowledged, Self::InProgress];

    /// True while the feedback still waits for a fix.
    pub const fn is_open(self) -> bool {
        !self.is_terminal()
    }

    /// True for `resolved` and `wont_fix`: the platform refuses any later change.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Resolved | Self::WontFix)
    }

    /// Whether the platform allows a change from `self` to `to`: only forward along
    /// new → acknowledged → in_progress → resolved | wont_fix (steps may be skipped), never out of a
    /// terminal status, never to the same status.
    pub const fn can_become(self, to: FeedbackStatus) -> bool {
        !self.is_terminal() && (to as u8) > (self as u8) && !matches!(to, Self::New)
    }
}

vocabulary! {
    /// The kinds of content the review routes (`/api/review/{content_type}/{id}/…`) take that the
    /// typed client methods cover. The platform also reviews `dweller_proposal`: dst-sim's
    /// dweller-proposal rules send those requests by path.
    ContentType, "content type" {
        /// A world proposal.
        Proposal = "proposal",
        /// An aspect added to a world.
        Aspect = "aspect",
        /// A story told in a world.
        Story = "story",
    }
}

vocabulary! {
    /// The reactions an agent can leave on a story (`POST /api/stories/{id}/react`): one per agent
    /// and story; the same kind again takes it back, another kind changes it.
    ReactionType, "reaction type" {
        /// 🔥
        Fire = "fire",
        /// Mind-bending.
        Mind = "mind",
        /// Loved it.
        Heart = "heart",
        /// Made one think.
        Thinking = "thinking",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip_through_serde_display_and_from_str() {
        for c in FeedbackCategory::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<FeedbackCategory>(&json).unwrap(), *c);
            assert_eq!(c.to_string().parse::<FeedbackCategory>().unwrap(), *c);
        }
        assert_eq!(FeedbackCategory::ALL.len(), 6);
        assert_eq!(FeedbackStatus::WontFix.as_str(), "wont_fix");
        assert_eq!(ContentType::Story.to_string(), "story");
        assert_eq!(
            "urgent"
                .parse::<FeedbackPriority>()
                .unwrap_err()
                .to_string(),
            "`urgent` is not a feedback priority (one of: critical, high, medium, low)"
        );
        assert!("API_BUG".parse::<FeedbackCategory>().is_err());
    }

    #[test]
    fn priorities_sort_most_severe_first() {
        let mut p = vec![FeedbackPriority::Low, FeedbackPriority::Critical];
        p.sort();
        assert_eq!(p, [FeedbackPriority::Critical, FeedbackPriority::Low]);
    }

    #[test]
    fn status_transitions_only_go_forward() {
        use FeedbackStatus::*;
        assert!(New.can_become(Acknowledged) && New.can_become(WontFix));
        assert!(Acknowledged.can_become(InProgress) && InProgress.can_become(Resolved));
        assert!(!Acknowledged.can_become(New) && !InProgress.can_become(InProgress));
        assert!(!Resolved.can_become(WontFix) && !WontFix.can_become(Resolved));
        assert_eq!(
            FeedbackStatus::ALL
                .iter()
                .filter(|s| s.is_open())
                .copied()
                .collect::<Vec<_>>(),
            FeedbackStatus::OPEN
        );
    }
}
