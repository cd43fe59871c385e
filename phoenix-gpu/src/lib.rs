//! Phoenix provider: NVIDIA driver and GPU passthrough.
