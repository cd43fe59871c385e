//! Project automation entry point: `cargo xtask ci | snap | demo`.

fn main() {}
