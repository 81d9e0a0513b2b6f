//! nginx (Debian's package) as the reverse proxy in front of several server instances, as
//! operators run it: round robin over the instances, the client's address appended to
//! `X-Forwarded-For`, request bodies streamed to the instance, and a request whose instance
//! refuses the connection (stopped, or shutting down) passed to the next one; what nginx
//! refuses itself (a target or head too large for its buffers) answered as a problem
//! document.
//!
//! The `http` block below is the configuration the README shows; only the paths and ports
//! are the test's own.

use crate::server_process::free_port;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running nginx; stopped when dropped.
#[derive(Debug)]
pub struct Nginx {
    /// `http://127.0.0.1:PORT`: where clients send their requests.
    pub url: String,
    child: Child,
    prefix: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where Debian installs it, when it is not on `PATH`.
const DEBIAN_BINARY: &str = "/usr/sbin/nginx";

const URI_TOO_LONG: &str = r#"{"type":"urn:devforge:problem:uri_too_long","title":"URI Too Long","status":414,"code":"uri_too_long","detail":"the path and query may be at most 8192 bytes"}"#;
const HEADERS_TOO_LARGE: &str = r#"{"type":"urn:devforge:problem:headers_too_large","title":"Request Header Fields Too Large","status":431,"code":"headers_too_large","detail":"the request headers are too large"}"#;

/// The proxying part of the configuration, for `upstreams`, listening on `port`.
#[must_use]
pub fn proxy_configuration(upstreams: &[SocketAddr], port: u16) -> String {
    let mut servers = String::new();
    for upstream in upstreams {
        // After a refused connection nginx leaves the instance alone for two seconds.
        let _ = writeln!(
            servers,
            "    server {upstream} max_fails=1 fail_timeout=2s;"
        );
    }
    format!(
        "\
upstream devforge {{
{servers}}}
server {{
  listen 127.0.0.1:{port};
  # Packages stream through as they arrive; devforge enforces its own limits.
  client_max_body_size 0;
  proxy_request_buffering off;
  proxy_max_temp_file_size 0;
  # What nginx refuses itself (a target or head too large for its buffers) is answered in
  # devforge's problem shape too.
  error_page 414 /problems/uri_too_long;
  error_page 494 =431 /problems/headers_too_large;
  location = /problems/uri_too_long {{
    internal;
    default_type application/problem+json;
    return 414 '{URI_TOO_LONG}';
  }}
  location = /problems/headers_too_large {{
    internal;
    default_type application/problem+json;
    return 431 '{HEADERS_TOO_LARGE}';
  }}
  location / {{
    proxy_pass http://devforge;
    # HTTP/1.1 lets chunked uploads stream too; one connection per request (no upstream
    # keepalive), so an instance that shuts down never has a request land on a
    # connection it is closing.
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    # A refused or failed connection goes to the next instance; nginx never resends a
    # request an instance has begun to receive (POST included).
    proxy_next_upstream error timeout;
    proxy_connect_timeout 1s;
    proxy_read_timeout 60s;
  }}
}}
"
    )
}

impl Nginx {
    /// Starts nginx on a free loopback port in front of `upstreams`, its files in `prefix`.
    ///
    /// # Errors
    /// When nginx is not installed, or refuses the configuration, or does not answer.
    pub async fn start(upstreams: &[SocketAddr], prefix: &Path) -> Result<Self, String> {
        let binary = which_nginx().ok_or("nginx is not installed (Debian: nginx-light)")?;
        let port = free_port()?;
        let temp = prefix.join("temp");
        std::fs::create_dir_all(&temp).map_err(|e| e.to_string())?;
        let p = prefix.display();
        let config = format!(
            "\
# Workers run as the user that starts nginx (as root it would switch to nobody, who
# cannot write these directories).
user root;
worker_processes 2;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {p}/temp/body;
  proxy_temp_path {p}/temp/proxy;
  fastcgi_temp_path {p}/temp/fastcgi;
  uwsgi_temp_path {p}/temp/uwsgi;
  scgi_temp_path {p}/temp/scgi;
{}}}
",
            proxy_configuration(upstreams, port)
        );
        let file = prefix.join("nginx.conf");
        std::fs::write(&file, config).map_err(|e| e.to_string())?;
        let child = Command::new(&binary)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&file)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let nginx = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            prefix: prefix.to_path_buf(),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(nginx);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("nginx did not listen: {}", nginx.error_log()))
    }

    /// What nginx wrote to its error log.
    #[must_use]
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default()
    }
}

fn which_nginx() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from(DEBIAN_BINARY);
        debian.is_file().then_some(debian)
    })
}
