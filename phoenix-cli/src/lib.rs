//! The phoenix command as a library: argument parsing, rendering and exit codes.
