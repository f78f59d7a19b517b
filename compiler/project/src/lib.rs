//! Cosmos projects: `cosmos.toml` and the `.emx` files under the source root.
//! This crate is the host side of the compiler: the one place that reads project files.
