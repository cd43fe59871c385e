//! The `phoenix` binary: a thin shell over the phoenix-cli library.

fn main() {}
