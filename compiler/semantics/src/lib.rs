//! Emx semantics on salsa.
