//! fail2ban jails for the gateway's logs (the config's `gateway.fail2ban`, default off):
//! `nginx-limit-req` bans a client whose requests the rate limits keep refusing (nginx's error
//! log), `nginx-botsearch` one that probes for paths the gateway does not route (its access and
//! error logs). The filters are fail2ban's own; Phoenix writes one jail file in the gateway's
//! container and checks it with the real `fail2ban-client -t` on a copy of the container's
//! configuration with the staged file in place ([`VALIDATE_SCRIPT`]) before it goes live.
//!
//! The logs are the gateway's log directory, the shared `logs/nginx` mount in the lab.

/// The jail file Phoenix owns.
pub const JAIL_PATH: &str = "/etc/fail2ban/jail.d/phoenix-gateway.local";

/// Debian's package.
pub const PACKAGE: &str = "fail2ban";

/// How a staged jail file is checked (`$1` is the staged file): the container's
/// `/etc/fail2ban` is copied to a temporary directory with the staged file as the jail, and the
/// real `fail2ban-client -t` tests that whole configuration; the live one is untouched.
pub const VALIDATE_SCRIPT: &str = "d=$(mktemp -d) || exit 1; \
cp -a /etc/fail2ban/. \"$d\" && cp -- \"$1\" \"$d/jail.d/phoenix-gateway.local\" && \
fail2ban-client -c \"$d\" -t; s=$?; rm -rf -- \"$d\"; exit $s";

/// The validate argv of the jail file (`%s` is the staged file).
pub fn validate_argv() -> Vec<String> {
    ["sh", "-c", VALIDATE_SCRIPT, "sh", "%s"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// How many refusals in [`FIND_TIME`] ban a client at the rate limit.
pub const LIMIT_REQ_RETRIES: u32 = 20;
/// How many probes of unrouted paths ban a client.
pub const BOTSEARCH_RETRIES: u32 = 5;
/// The window the retries are counted in.
pub const FIND_TIME: &str = "10m";
/// How long a ban lasts.
pub const BAN_TIME: &str = "1h";

/// The jail file for logs in `log_dir` and a gateway on `ports`.
pub fn jail(log_dir: &str, ports: &[u16]) -> String {
    let ports = ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "# Written by Phoenix from the config's `gateway.fail2ban`; changes here are overwritten.\n\
         [nginx-limit-req]\n\
         enabled = true\n\
         port = {ports}\n\
         logpath = {log_dir}/error.log\n\
         backend = auto\n\
         maxretry = {LIMIT_REQ_RETRIES}\n\
         findtime = {FIND_TIME}\n\
         bantime = {BAN_TIME}\n\
         \n\
         [nginx-botsearch]\n\
         enabled = true\n\
         port = {ports}\n\
         logpath = {log_dir}/access.log\n          \
         {log_dir}/error.log\n\
         backend = auto\n\
         maxretry = {BOTSEARCH_RETRIES}\n\
         findtime = {FIND_TIME}\n\
         bantime = {BAN_TIME}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_the_jail_watches_the_gateway_s_logs_on_its_ports() {
        insta::assert_snapshot!(jail("/var/log/nginx", &[80, 443]), @r"
        # Written by Phoenix from the config's `gateway.fail2ban`; changes here are overwritten.
        [nginx-limit-req]
        enabled = true
        port = 80,443
        logpath = /var/log/nginx/error.log
        backend = auto
        maxretry = 20
        findtime = 10m
        bantime = 1h

        [nginx-botsearch]
        enabled = true
        port = 80,443
        logpath = /var/log/nginx/access.log
                  /var/log/nginx/error.log
        backend = auto
        maxretry = 5
        findtime = 10m
        bantime = 1h
        ");
    }
}
