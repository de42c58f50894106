//! Reference implementation of the platform's game-rule API on embedded SQLite
