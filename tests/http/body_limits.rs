//! Each route reads at most the body it needs, and a larger one is refused before it is
//! held: from `Content-Length` before reading, while reading when the body is chunked.

use devforge_tests::on_every_backend;
use devforge_tests::raw_http::{Framing, announce_and_stall, post_zeros};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

on_every_backend! {
    async fn webhook_bodies_over_256_kib_are_refused_before_they_are_read(app) {
        let headers = ["Content-Type: application/json", "Stripe-Signature: t=1,v1=00"];
        // Announced: refused from the head alone. The client sends 64 KiB of the 49 MiB
        // it announced and waits: only a server that decides from the head can answer.
        let announced = announce_and_stall(
            app.addr(),
            "/v1/webhooks/stripe",
            &headers,
            49 * MIB,
            64 * 1024,
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no answer to an announced 49 MiB body before it arrived"));
        assert_eq!(announced.status, 413, "{}", announced.text);
        assert!(announced.text.contains("\"code\":\"payload_too_large\""), "{}", announced.text);
        assert!(announced.text.contains("application/problem+json"), "{}", announced.text);

        // Chunked: refused once the limit is passed. The server then reads the rest of the
        // body only to discard it (actix-web drains a refused chunked body to keep the
        // connection usable), so how much the client got to send first depends on
        // scheduling; what the server holds is measured by the memory test of the binary.
        let chunked = post_zeros(app.addr(), "/v1/webhooks/stripe", &headers, 49 * MIB, Framing::Chunked)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chunked.status, 413, "{}", chunked.text);
        assert!(chunked.text.contains("\"code\":\"payload_too_large\""), "{}", chunked.text);

        // At the limit the body is read, and judged by its signature.
        let within = post_zeros(app.addr(), "/v1/webhooks/stripe", &headers, 256 * 1024, Framing::Length)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(within.status, 413, "{}", within.text);
        assert_ne!(within.status, 500, "{}", within.text);
    }
}
