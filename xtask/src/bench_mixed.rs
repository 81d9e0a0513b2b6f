//! The mixed run of `cargo xtask bench validate`: validation while licenses change beside
//! it, and how soon a revocation through one server reaches the other.
//!
//! Three loads at once, for the run's seconds:
//! - validation, `wrk -t2 -c32` against server A, as in the quiet reps;
//! - writes, a second `wrk` against A at a paced rate of 5 % of all requests (taken from the
//!   quiet rate of the same run): activate a machine, deactivate it, renew a license by a
//!   day, revoke the license the machine was on, over and over. Kept apart from the
//!   validation `wrk` so that validation's latency histogram holds validation only;
//! - a probe, once a second: a license A and B both call `VALID` is revoked through A, and
//!   both servers are asked again until each says `REVOKED`. Every `VALID` either gives more
//!   than a second after the revocation answered is counted as stale.
//!
//! The probe keeps its own licenses (the last [`PROBE_KEYS`] keys), which the writes never
//! touch, so a probe never finds its license revoked already.

use crate::bench::{Load, Options, parse_wrk, server_command, wrk};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Keys at the end of the keys file kept for the probe.
const PROBE_KEYS: usize = 200;
/// Connections of the write load: enough that each waits several milliseconds between its
/// writes, so the pace, not the commit latency of PostgreSQL or SQLite, sets the rate.
const WRITE_CONNECTIONS: u32 = 16;
/// Share of all requests that are writes.
const WRITE_SHARE: f64 = 0.05;
/// The freshness promise: no `VALID` later than this after a revocation answered.
const STALE_AFTER: Duration = Duration::from_secs(1);
/// How long the probe asks before it gives a revocation up as never seen.
const PROBE_PATIENCE: Duration = Duration::from_secs(5);

const ADMIN_EMAIL: &str = "bench-operator@example.com";
const ADMIN_PASSWORD: &str = "operator horse battery staple";

/// What the mixed run gave.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mixed {
    pub validation: Load,
    pub writes: Load,
    /// Revocations the probe made.
    pub probes: usize,
    /// The longest time, over probes and servers, from a revocation's answer until a server
    /// said `REVOKED`.
    pub slowest_ms: f64,
    /// `VALID` answers more than [`STALE_AFTER`] after a revocation answered.
    pub stale: usize,
    /// Revocations some server still had not reported after [`PROBE_PATIENCE`].
    pub never_seen: usize,
}

impl Mixed {
    /// Writes over all requests.
    pub fn write_share(&self) -> f64 {
        self.writes.rps / (self.writes.rps + self.validation.rps).max(1.0)
    }
}

/// The two servers of one database (`through` takes the writes and the probe's
/// revocations, both are probed), the seeded keys and the validation load's script.
pub(crate) struct Servers<'a> {
    pub through: &'a str,
    pub other: &'a str,
    pub keys: &'a Path,
    pub validate_script: &'a Path,
}

/// Runs validation, writes and the probe at once; `quiet_rps` paces the writes.
pub(crate) fn run(
    server: &Path,
    dir: &Path,
    url: &str,
    servers: &Servers<'_>,
    quiet_rps: f64,
    options: &Options,
) -> Result<Mixed, String> {
    let (keys, validate_script) = (servers.keys, servers.validate_script);
    let token = admin_token(server, dir, url, servers.through)?;
    let probe_keys = last_keys(keys, PROBE_KEYS)?;
    let writes_per_second = quiet_rps * WRITE_SHARE / (1.0 - WRITE_SHARE);
    let pause_ms = f64::from(WRITE_CONNECTIONS) * 1000.0 / writes_per_second.max(1.0);
    let write_script = write_lua(dir, keys, &token, pause_ms)?;

    let writer = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{WRITE_CONNECTIONS}"),
            &format!("-d{}s", options.seconds),
            "--latency",
            "-s",
        ])
        .arg(&write_script)
        .arg(servers.through)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let probe_until = Instant::now() + Duration::from_secs(u64::from(options.seconds));
    let through = servers.through.to_owned();
    let other = servers.other.to_owned();
    let probe = std::thread::spawn(move || {
        probe_revocations(&through, &other, &token, &probe_keys, probe_until)
    });
    let validation = wrk(
        validate_script,
        &format!("{}/v1/licenses/validate", servers.through),
        options.connections,
        options.seconds,
    );
    let output = writer.wait_with_output().map_err(|e| e.to_string())?;
    let writes = parse_wrk(&String::from_utf8_lossy(&output.stdout));
    let mut mixed = probe.join().map_err(|_| "the probe panicked")??;
    mixed.validation = validation?;
    mixed.writes = writes;
    Ok(mixed)
}

/// Makes an admin account with the CLI and signs in to it through the server.
fn admin_token(server: &Path, dir: &Path, url: &str, base: &str) -> Result<String, String> {
    crate::bench::run_quiet(server_command(server, dir, url).args([
        "user",
        "create",
        "--email",
        ADMIN_EMAIL,
        "--password",
        ADMIN_PASSWORD,
        "--role",
        "admin",
    ]))?;
    let body = format!(r#"{{"email":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, answer) = post(&format!("{base}/v1/auth/login"), &body, None)?;
    if status != 200 {
        return Err(format!(
            "signing in as the bench operator answered {status}"
        ));
    }
    field(&answer, "access_token").ok_or_else(|| "no access token in the login answer".into())
}

/// The last `count` lines of the keys file.
fn last_keys(keys: &Path, count: usize) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(keys).map_err(|e| e.to_string())?;
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    Ok(lines[lines.len().saturating_sub(count)..].to_vec())
}

/// The write load's script: one connection's requests cycle through activating a machine,
/// deactivating it, renewing a license and revoking the license the machine was on, with
/// `pause_ms` between requests.
fn write_lua(
    dir: &Path,
    keys: &Path,
    token: &str,
    pause_ms: f64,
) -> Result<std::path::PathBuf, String> {
    let script = dir.join("mixed-writes.lua");
    std::fs::write(
        &script,
        format!(
            r#"local keys = {{}}
for line in io.lines("{keys}") do keys[#keys + 1] = line end
local usable = #keys - {PROBE_KEYS}
local json = {{["Content-Type"] = "application/json"}}
local admin = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
local n = 0
local pending = {{}}
local machines = {{}}
local ids = {{}}
math.randomseed(os.time())
local function activate()
  local key = keys[math.random(usable)]
  local fingerprint = "bench-machine-" .. n .. "-" .. math.random(1000000000)
  pending[fingerprint] = key
  return wrk.format("POST", "/v1/licenses/activate", json,
    '{{"key":"' .. key .. '","fingerprint":"' .. fingerprint .. '"}}')
end
request = function()
  n = n + 1
  local step = n % 4
  if step == 1 and #machines > 0 then
    local machine = table.remove(machines)
    return wrk.format("POST", "/v1/licenses/deactivate", json,
      '{{"key":"' .. machine[1] .. '","fingerprint":"' .. machine[2] .. '"}}')
  elseif step == 2 and #ids > 0 then
    return wrk.format("POST", "/v1/licenses/" .. ids[math.random(#ids)] .. "/renew", admin, '{{"days":1}}')
  elseif step == 3 and #ids > 0 then
    return wrk.format("POST", "/v1/licenses/" .. table.remove(ids) .. "/revoke", admin,
      '{{"reason":"benchmark"}}')
  end
  return activate()
end
response = function(status, headers, body)
  if status ~= 201 and status ~= 200 then return end
  local fingerprint = body:match('"fingerprint":"([^"]+)"')
  local id = body:match('"license_id":"([^"]+)"')
  local key = fingerprint and pending[fingerprint]
  if key and id then
    pending[fingerprint] = nil
    machines[#machines + 1] = {{key, fingerprint}}
    ids[#ids + 1] = id
  end
end
delay = function()
  return {pause}
end
"#,
            keys = keys.display(),
            pause = pause_ms.round().max(1.0),
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(script)
}

/// Once a second until `until`: revoke a license through `through`, then ask both servers
/// until each says `REVOKED`.
fn probe_revocations(
    through: &str,
    other: &str,
    token: &str,
    keys: &[String],
    until: Instant,
) -> Result<Mixed, String> {
    let mut mixed = Mixed::default();
    for (n, key) in keys.iter().enumerate() {
        let started = Instant::now();
        if started + STALE_AFTER >= until {
            break;
        }
        let Some(id) = license_id(through, key, n)? else {
            continue;
        };
        if ![through, other]
            .iter()
            .all(|base| validation_code(base, key).is_ok_and(|code| code == "VALID"))
        {
            continue;
        }
        let (status, _) = post(
            &format!("{through}/v1/licenses/{id}/revoke"),
            r#"{"reason":"probe"}"#,
            Some(token),
        )?;
        if status != 200 {
            return Err(format!("the probe's revocation answered {status}"));
        }
        let revoked = Instant::now();
        mixed.probes += 1;
        let mut waiting = vec![through, other];
        while !waiting.is_empty() && revoked.elapsed() < PROBE_PATIENCE {
            let mut still = Vec::new();
            for base in waiting {
                let code = validation_code(base, key)?;
                let elapsed = revoked.elapsed();
                if code == "REVOKED" {
                    mixed.slowest_ms = mixed.slowest_ms.max(elapsed.as_secs_f64() * 1000.0);
                } else {
                    if code == "VALID" && elapsed > STALE_AFTER {
                        mixed.stale += 1;
                    }
                    still.push(base);
                }
            }
            waiting = still;
            std::thread::sleep(Duration::from_millis(10));
        }
        if !waiting.is_empty() {
            mixed.never_seen += 1;
        }
        std::thread::sleep(Duration::from_secs(1).saturating_sub(started.elapsed()));
    }
    Ok(mixed)
}

/// Activates a machine on the license of `key` to learn the license's id.
fn license_id(base: &str, key: &str, n: usize) -> Result<Option<String>, String> {
    let body = format!(r#"{{"key":"{key}","fingerprint":"probe-machine-{n}"}}"#);
    let (status, answer) = post(&format!("{base}/v1/licenses/activate"), &body, None)?;
    Ok(if status == 201 || status == 200 {
        field(&answer, "license_id")
    } else {
        None
    })
}

/// What a server's validation says of `key` (`VALID`, `REVOKED`, ...).
fn validation_code(base: &str, key: &str) -> Result<String, String> {
    let body = format!(r#"{{"key":"{key}"}}"#);
    let (status, answer) = post(&format!("{base}/v1/licenses/validate"), &body, None)?;
    if status != 200 {
        return Err(format!("the probe's validation answered {status}"));
    }
    field(&answer, "code").ok_or_else(|| "no code in the validation answer".into())
}

/// A JSON POST with curl: the status and the body.
fn post(url: &str, body: &str, token: Option<&str>) -> Result<(u16, String), String> {
    crate::bench::curl("POST", url, Some(body), token).map(|(status, answer, _)| (status, answer))
}

/// The first string value of `"name":"..."` in a JSON text.
pub(crate) fn field(json: &str, name: &str) -> Option<String> {
    let start = json.find(&format!("\"{name}\":\""))? + name.len() + 4;
    let end = json[start..].find('"')?;
    Some(json[start..start + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn field_reads_the_first_string_value_of_a_name() {
        let json = r#"{"activation":{"license_id":"a-1","fingerprint":"m"},"code":"VALID"}"#;
        assert_eq!(field(json, "license_id").as_deref(), Some("a-1"));
        assert_eq!(field(json, "code").as_deref(), Some("VALID"));
        assert_eq!(field(json, "missing"), None);
    }
}
