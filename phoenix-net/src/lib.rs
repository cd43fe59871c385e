//! Phoenix provider: NFS exports, Samba shares, firewall and the Nginx gateway.
