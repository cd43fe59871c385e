//! Phoenix format crate: the config's guests and the services declared in them, read the same way
//! by every provider that needs them.
//!
//! phoenix-lxc owns `lxc_configs` and reports every error in it; several other providers read
//! parts of the same entries (the features a container has, its address, the vLLM server it
//! runs): phoenix-gpu and phoenix-security for the in-container `nvidia` and `docker` features,
//! phoenix-ai to run the services, phoenix-net to route the gateway to them. They read them
//! here, with one reader per concern, instead of depending on each other. The readers are
//! lenient: an entry phoenix-lxc refuses is simply skipped (its error is phoenix-lxc's), so no
//! error is reported twice. A service reader ([`ollama`], [`qdrant`]) returns the problems of its
//! own keys; phoenix-ai, which claims those keys, reports them, and other readers (the gateway,
//! the health checks) use only the servers whose keys are valid.

pub mod endpoint;
pub mod guests;
pub mod ollama;
pub mod qdrant;
pub mod vllm;

pub use endpoint::{Endpoint, Problem};
pub use guests::{Guest, Guests, guests, parse_gpu_assignment};
