//! Typed async client for the Deep Sci-Fi platform HTTP API
