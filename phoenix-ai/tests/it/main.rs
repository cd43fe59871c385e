//! The health checks and the embedding round trip run with the real `curl` against stand-in
//! HTTP servers (`stand_in_server`) that answer like vLLM, Ollama and Qdrant.

mod checks;
mod sim;
mod stand_in_server;
