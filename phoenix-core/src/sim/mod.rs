//! The stateful simulated Proxmox node and the FakeHost test double.
