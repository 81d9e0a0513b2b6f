//! Who the client is, network-wise: the peer address, or, when the peer is a configured
//! trusted proxy, the nearest untrusted address in `X-Forwarded-For`. Trusting the header
//! from anyone would let any client pick its own rate-limit key.

use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The client address of `req`, given the trusted proxies.
#[must_use]
pub fn client_ip(req: &ServiceRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    client_ip_of(req.peer_addr(), req.headers(), trusted_proxies)
}

/// The client address of a request from `peer` with `headers`, given the trusted proxies.
#[must_use]
pub fn client_ip_of(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    // Walk from the nearest hop outwards; the first untrusted address is the client. An
    // entry that is not an address ends the walk: what lies beyond it cannot be believed,
    // so the last trusted hop answers for the request.
    let mut nearest_trusted = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return Some(nearest_trusted);
        };
        if !trusted_proxies.contains(&ip) {
            return Some(ip);
        }
        nearest_trusted = ip;
    }
    Some(nearest_trusted)
}

/// An `X-Forwarded-For` entry: a bare address, or one with a port as some proxies write.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use actix_web::test::TestRequest;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_header_is_ignored_from_an_untrusted_peer() {
        let req = TestRequest::default()
            .peer_addr("203.0.113.9:4000".parse().unwrap_or_else(|e| panic!("{e}")))
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_srv_request();
        assert_eq!(client_ip(&req, &[ip("10.0.0.1")]), Some(ip("203.0.113.9")));
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().unwrap_or_else(|e| panic!("{e}")))
            .insert_header(("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2"))
            .to_srv_request();
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(client_ip(&req, &trusted), Some(ip("198.51.100.7")));
    }

    #[test]
    fn ports_are_stripped_and_garbage_stops_the_walk() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().unwrap_or_else(|e| panic!("{e}")))
            .insert_header(("x-forwarded-for", "6.6.6.6, unknown, 198.51.100.7:5555"))
            .to_srv_request();
        assert_eq!(client_ip(&req, &[ip("10.0.0.1")]), Some(ip("198.51.100.7")));

        let req = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().unwrap_or_else(|e| panic!("{e}")))
            .insert_header(("x-forwarded-for", "6.6.6.6, unknown"))
            .to_srv_request();
        assert_eq!(client_ip(&req, &[ip("10.0.0.1")]), Some(ip("10.0.0.1")));
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_its_ipv4_proxy_entry() {
        let req = TestRequest::default()
            .peer_addr(
                "[::ffff:10.0.0.1]:4000"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .insert_header(("x-forwarded-for", "198.51.100.7"))
            .to_srv_request();
        assert_eq!(client_ip(&req, &[ip("10.0.0.1")]), Some(ip("198.51.100.7")));
    }
}
