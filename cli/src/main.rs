//! `cosmosc`: the one binary of Cosmos.

fn main() {}
