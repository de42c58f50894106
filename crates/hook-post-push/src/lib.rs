//! Claude Code PostToolUse hook: records git push / gh pr merge and asks the agent to verify the deploy
