//! Stable hashing, for the identifiers emulators derive from names.

/// A stable 64-bit FNV-1a hash of `parts`, each followed by a 0 byte (so `["ab"]` and
/// `["a", "b"]` differ), for identifiers an emulator derives from names (GUIDs, UUIDs, MACs,
/// pids): the same on every run and with every Rust release, unlike the standard hashers.
///
/// ```
/// # use phoenix_core::sim::stable_hash;
/// assert_eq!(stable_hash(&["tank", "guid"]), stable_hash(&["tank", "guid"]));
/// assert_ne!(stable_hash(&["ab"]), stable_hash(&["a", "b"]));
/// ```
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
