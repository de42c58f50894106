//! Project-specific static detectors over the platform's Python code
