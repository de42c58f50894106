//! CI status, health, smoke, schema and Logfire checks for a deploy; writes the verified marker
