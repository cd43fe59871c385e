//! Phoenix provider: AppArmor profiles and Docker-in-LXC confinement.
