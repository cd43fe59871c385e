//! An example third-party provider written against phoenix-core alone, used by the end-to-end tests.
//!
//! [`sysctl`] manages kernel parameters: it shows every piece a provider author writes (a fact,
//! a resource with a pure diff, config decoding, and the emulator of the tool it drives), and
//! registers with one line: `Registry::builder().provider(tests::sysctl::provider())`.

pub mod sysctl;
