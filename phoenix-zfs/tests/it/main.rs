//! Integration tests of the emulators: the simulated node, driven as Phoenix drives a real host,
//! must print what the captured real tools printed (`shared/fixtures`).

mod pvesm;
mod support;
mod testbed;
mod tools;
