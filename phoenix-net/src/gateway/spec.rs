//! The gateway's input as plain data: the services behind it, their servers and models, and the
//! limits. The generator ([`super::site`]) is a pure function of a [`Gateway`]; the config
//! adapter ([`super::config`]) builds one from the config's containers.

/// A rate limit: requests per second and how many excess requests wait in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per second let through.
    pub per_second: u32,
    /// Excess requests that wait (no `nodelay`); one more gets 429.
    pub burst: u32,
}

/// One backend server: an address nginx connects to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Backend {
    /// The container the server runs in (for messages and comments).
    pub container: u32,
    /// Its IPv4 address, from the container's own network config.
    pub ip: String,
    /// Its port, from the service's own config.
    pub port: u16,
}

/// A model served by an OpenAI-compatible service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The name clients send as `model` (vLLM's `served_model_name`).
    pub name: String,
    /// The context length in tokens (vLLM's `max_model_len`).
    pub max_model_len: u32,
}

/// How a service is reached through the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// OpenAI-compatible (vLLM): `/v1/chat/completions`, `/v1/completions` and
    /// `/v1/embeddings` by the body's `model`, and listed by `GET /v1/models`.
    OpenAi {
        /// The model every server of the service serves.
        model: Model,
    },
    /// A path prefix proxied with the prefix removed (`/ollama/`, `/qdrant/`, `/n8n/`).
    Path {
        /// The prefix, starting and ending with `/`.
        prefix: String,
        /// Whether WebSocket upgrades are passed on.
        websocket: bool,
        /// Whether responses stream (no buffering, long read timeout), as model APIs do.
        streaming: bool,
    },
}

/// One service: an upstream group with its servers and its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The upstream's name: lowercase letters, digits and `_`, unique.
    pub name: String,
    /// How requests reach it.
    pub route: Route,
    /// Its servers (replicas), at least one.
    pub backends: Vec<Backend>,
    /// The service's queue: requests per second for all clients together, and how many wait.
    pub queue: Rate,
    /// At most this many connections per server at once (`max_conns`), if set.
    pub max_conns: Option<u32>,
}

/// Everything the gateway's nginx configuration is generated from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// `server_name`s (`_` for any).
    pub server_names: Vec<String>,
    /// The HTTP port.
    pub port: u16,
    /// The largest request body in bytes; larger gets 413.
    pub max_body_bytes: u64,
    /// Bytes of prompt text counted as one token at most: a prompt longer than
    /// `max_model_len × bytes_per_token` bytes cannot fit and gets 400.
    pub bytes_per_token: u32,
    /// Per-client rate limit (by address), on every route.
    pub client: Rate,
    /// The services, in the order their routes are written.
    pub services: Vec<Service>,
}

/// Defaults of the config's optional fields.
pub mod defaults {
    use super::Rate;

    /// HTTP port.
    pub const PORT: u16 = 80;
    /// Largest body: 1 MiB, far above what `max_model_len` tokens of text take.
    pub const MAX_BODY_BYTES: u64 = 1024 * 1024;
    /// English text averages about 4 bytes per token in the tokenizers vLLM serves and rarely
    /// exceeds 6, so counting 6 rejects only prompts that cannot fit.
    pub const BYTES_PER_TOKEN: u32 = 6;
    /// Per client.
    pub const CLIENT: Rate = Rate {
        per_second: 20,
        burst: 40,
    };
    /// Per service.
    pub const QUEUE: Rate = Rate {
        per_second: 10,
        burst: 20,
    };
    /// Ollama's port.
    pub const OLLAMA_PORT: u16 = 11434;
    /// Qdrant's REST port.
    pub const QDRANT_PORT: u16 = 6333;
}
