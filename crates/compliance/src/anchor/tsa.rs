//! Asking a time-stamping authority for a token over a Merkle root
//! (RFC 3161 over HTTP, RFC 3161 section 3.4).

use std::time::Duration;

use tracing::{debug, info, instrument};

use super::{
    encoding,
    token::{self, ResponseOutcome},
    Anchor, KIND_RFC3161,
};
use crate::{Error, Result};

/// Cap on the TSA's answer. A token with a certificate chain is a few KiB;
/// the cap keeps a hostile or broken endpoint from filling memory.
pub const MAX_TSA_RESPONSE_BYTES: u64 = 1 << 20;

/// Whole-request timeout. Anchoring is periodic and off the detection path,
/// so a slow TSA costs one retry later, never a stalled pipeline.
pub const TSA_TIMEOUT_SECS: u64 = 10;

/// Nonce length. 16 random bytes make a collision with any earlier request
/// negligible, so a replayed response is recognised by its nonce.
const NONCE_BYTES: usize = 16;

/// Anchor records `first_seq..=last_seq`, whose RFC 9162 Merkle root is
/// `root`, at the TSA `tsa_url` (plain HTTP; TSA tokens are signed, so the
/// transport needs no secrecy). `prev` is the latest existing anchor, `None`
/// for the first one: the new anchor links to its root and must start right
/// after its range.
///
/// The response is bound before it is accepted: status granted, SHA-256
/// imprint equal to `root`, nonce equal to ours. The TSA's signature is not
/// checked here (that needs its CA; see [`super::verify_anchor`]).
///
/// # Errors
/// [`Error::BadArgument`] for an inverted range or one that does not follow
/// `prev`; [`Error::Entropy`] if no nonce can be drawn;
/// [`Error::TsaUnreachable`], [`Error::TsaHttpStatus`],
/// [`Error::TsaRefused`], [`Error::MalformedTsaResponse`] and
/// [`Error::TsaResponseMismatch`] for the ways the TSA can fail us.
#[instrument(skip_all, fields(tsa_url = %tsa_url, first_seq = first_seq, last_seq = last_seq))]
pub fn request_anchor(
    tsa_url: &str,
    first_seq: u64,
    last_seq: u64,
    root: &[u8; 32],
    prev: Option<&Anchor>,
) -> Result<Anchor> {
    if first_seq > last_seq {
        return Err(Error::BadArgument {
            what: "anchor range",
            reason: format!("first_seq {first_seq} is after last_seq {last_seq}"),
        });
    }
    if let Some(prev) = prev {
        if prev.last_seq.checked_add(1) != Some(first_seq) {
            return Err(Error::BadArgument {
                what: "anchor range",
                reason: format!(
                    "must start right after the previous anchor ({}..={}), found first_seq {first_seq}",
                    prev.first_seq, prev.last_seq
                ),
            });
        }
    }

    let nonce = draw_nonce()?;
    let query =
        token::encode_request(root, &nonce).map_err(|source| Error::TimestampRequest { source })?;
    let body = post_query(tsa_url, &query)?;

    let malformed = |m: token::Malformed| Error::MalformedTsaResponse {
        url: tsa_url.to_owned(),
        what: m.what,
        source: m.source,
    };
    let token_der = match token::parse_response(&body).map_err(malformed)? {
        ResponseOutcome::Granted { token_der } => token_der,
        ResponseOutcome::Refused { status, detail } => {
            return Err(Error::TsaRefused {
                url: tsa_url.to_owned(),
                status,
                detail,
            });
        }
    };
    let facts = token::parse_token(&token_der).map_err(malformed)?;
    if !token::imprint_is(&facts, root) {
        return Err(Error::TsaResponseMismatch {
            url: tsa_url.to_owned(),
            what: "imprint",
            expected: encoding::to_hex(root),
            found: encoding::to_hex(&facts.imprint),
        });
    }
    if facts.nonce.as_deref() != Some(nonce.as_slice()) {
        return Err(Error::TsaResponseMismatch {
            url: tsa_url.to_owned(),
            what: "nonce",
            expected: encoding::to_hex(&nonce),
            found: facts
                .nonce
                .as_deref()
                .map_or_else(|| "absent".to_owned(), encoding::to_hex),
        });
    }

    let anchor = Anchor {
        first_seq,
        last_seq,
        root: encoding::to_hex(root),
        prev_anchor_root: prev.map(|p| p.root.clone()),
        kind: KIND_RFC3161.to_owned(),
        tsa_url: tsa_url.to_owned(),
        nonce: encoding::to_hex(&nonce),
        token: encoding::to_base64(&token_der),
        gen_time: facts
            .gen_time
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        serial: encoding::to_hex(&facts.serial),
    };
    info!(
        message = "Anchored audit records.",
        first_seq,
        last_seq,
        root = %anchor.root,
        gen_time = %anchor.gen_time,
        serial = %anchor.serial
    );
    Ok(anchor)
}

/// A positive INTEGER nonce: the first byte is kept in 0x01..=0x7f so the DER
/// encoding is minimal and non-negative, which the TSA echoes byte for byte.
fn draw_nonce() -> Result<[u8; NONCE_BYTES]> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::getrandom(&mut nonce).map_err(|source| Error::Entropy { source })?;
    nonce[0] = nonce[0] % 0x7f + 1;
    Ok(nonce)
}

/// POST the DER query and return the (capped) body of a 200 answer.
fn post_query(tsa_url: &str, query: &[u8]) -> Result<Vec<u8>> {
    let unreachable = |source: ureq::Error| Error::TsaUnreachable {
        url: tsa_url.to_owned(),
        source: Box::new(source),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(TSA_TIMEOUT_SECS)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(tsa_url)
        .header("Content-Type", "application/timestamp-query")
        .send(query)
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    debug!(message = "TSA answered.", status);
    if status != 200 {
        return Err(Error::TsaHttpStatus {
            url: tsa_url.to_owned(),
            status,
        });
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_TSA_RESPONSE_BYTES)
        .read_to_vec()
        .map_err(unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_positive_minimal_integers() {
        for _ in 0..64 {
            let n = draw_nonce().unwrap();
            assert!((0x01..=0x7f).contains(&n[0]));
        }
    }

    #[test]
    fn refuses_inverted_or_detached_ranges_before_any_network() {
        let url = "http://127.0.0.1:9/unused";
        assert!(matches!(
            request_anchor(url, 5, 4, &[0; 32], None),
            Err(Error::BadArgument { .. })
        ));
        let prev = Anchor {
            first_seq: 0,
            last_seq: 9,
            root: "00".repeat(32),
            prev_anchor_root: None,
            kind: KIND_RFC3161.to_owned(),
            tsa_url: url.to_owned(),
            nonce: String::new(),
            token: String::new(),
            gen_time: String::new(),
            serial: String::new(),
        };
        for first in [9, 11] {
            assert!(matches!(
                request_anchor(url, first, 20, &[0; 32], Some(&prev)),
                Err(Error::BadArgument { .. })
            ));
        }
    }
}
