//! Phoenix provider: The LXC container lifecycle on Proxmox VE.
