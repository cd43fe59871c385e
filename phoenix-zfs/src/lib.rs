//! Phoenix provider: ZFS pools, datasets, ARC and Proxmox storage.
