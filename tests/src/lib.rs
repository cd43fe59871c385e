//! An example third-party provider written against phoenix-core alone, used by the end-to-end tests.
