//! RFC 3161 messages: building the TimeStampReq over a Merkle root and
//! taking apart the TimeStampResp / TimeStampToken that comes back.
//!
//! Pure functions over bytes; no I/O. The signature over the token is *not*
//! checked here (that needs the TSA's certificate chain; see `verify`).
//! Everything parsed here came over the network or from an anchor file an
//! attacker may have edited, so every failure is a value, never a panic.

use chrono::{DateTime, Utc};
use cms::{
    cert::x509::spki::AlgorithmIdentifier, content_info::ContentInfo, signed_data::SignedData,
};
use der::{
    asn1::{Int, OctetString},
    oid::{db::rfc5911::ID_SIGNED_DATA, db::rfc5912::ID_SHA_256, ObjectIdentifier},
    Any, Decode, Encode, Tag, Tagged,
};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// `id-ct-TSTInfo` (RFC 3161 section 2.4.2): the content type of the
/// signed payload inside a TimeStampToken.
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// What a token asserts, once decoded.
#[derive(Debug, Clone)]
pub(super) struct TokenFacts {
    /// Hash algorithm of the message imprint.
    pub imprint_algorithm: ObjectIdentifier,
    /// The hashed message the TSA signed (our Merkle root).
    pub imprint: Vec<u8>,
    /// The nonce echoed from the request, as INTEGER content bytes.
    pub nonce: Option<Vec<u8>>,
    /// When the TSA says it saw the imprint.
    pub gen_time: DateTime<Utc>,
    /// The TSA's serial number for this token, as INTEGER content bytes.
    pub serial: Vec<u8>,
}

/// Why a token (or response) could not be decoded: which part, and the DER
/// error underneath when there is one.
#[derive(Debug)]
pub(super) struct Malformed {
    pub what: &'static str,
    pub source: Option<der::Error>,
}

impl Malformed {
    fn at(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self {
            what,
            source: Some(source),
        }
    }
}

/// A TimeStampResp decoded far enough to know the outcome.
#[derive(Debug)]
pub(super) enum ResponseOutcome {
    /// Status granted (or granted with modifications): the token's DER.
    Granted { token_der: Vec<u8> },
    /// The TSA refused: PKIStatus name and whatever text it gave.
    Refused {
        status: &'static str,
        detail: String,
    },
}

/// DER TimeStampReq for `root` with SHA-256 as the imprint algorithm (the
/// root *is* a SHA-256 value, so the TSA signs it as-is), the given nonce and
/// certReq set, so the token carries the TSA certificate for later checks.
pub(super) fn encode_request(root: &[u8; 32], nonce: &[u8]) -> Result<Vec<u8>, der::Error> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: ID_SHA_256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(root.as_slice())?,
        },
        req_policy: None,
        nonce: Some(Int::new(nonce)?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
}

/// PKIStatus names (RFC 4210 5.2.3), indexed by value.
const STATUS_NAMES: [&str; 7] = [
    "granted",
    "grantedWithMods",
    "rejection",
    "waiting",
    "revocationWarning",
    "revocationNotification",
    "keyUpdateWarning",
];

/// Decode a TimeStampResp body.
pub(super) fn parse_response(body: &[u8]) -> Result<ResponseOutcome, Malformed> {
    let resp = TimeStampResp::from_der(body).map_err(Malformed::at("TimeStampResp"))?;
    let code = resp.status.status as u8;
    if code > 1 {
        let mut detail: Vec<String> = resp
            .status
            .status_string
            .iter()
            .flatten()
            .map(|s| s.as_str().chars().take(200).collect())
            .collect();
        if let Some(info) = resp.status.fail_info {
            detail.push(format!("failInfo {info:?}"));
        }
        let status = STATUS_NAMES
            .get(usize::from(code))
            .copied()
            .unwrap_or("unknown");
        return Ok(ResponseOutcome::Refused {
            status,
            detail: detail.join("; "),
        });
    }
    let token = resp.time_stamp_token.ok_or(Malformed {
        what: "TimeStampResp granted without a timeStampToken",
        source: None,
    })?;
    let token_der = token.to_der().map_err(Malformed::at("TimeStampToken"))?;
    Ok(ResponseOutcome::Granted { token_der })
}

/// Decode a TimeStampToken (CMS SignedData over a TSTInfo) down to the facts
/// the anchor binds. Does not check the signature.
pub(super) fn parse_token(token_der: &[u8]) -> Result<TokenFacts, Malformed> {
    let info =
        ContentInfo::from_der(token_der).map_err(Malformed::at("TimeStampToken ContentInfo"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(Malformed {
            what: "TimeStampToken is not CMS SignedData",
            source: None,
        });
    }
    let content = info
        .content
        .to_der()
        .map_err(Malformed::at("TimeStampToken content"))?;
    let signed = SignedData::from_der(&content).map_err(Malformed::at("SignedData"))?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(Malformed {
            what: "SignedData does not carry a TSTInfo",
            source: None,
        });
    }
    let econtent = signed.encap_content_info.econtent.ok_or(Malformed {
        what: "SignedData has no eContent",
        source: None,
    })?;
    if econtent.tag() != Tag::OctetString {
        return Err(Malformed {
            what: "eContent is not an OCTET STRING",
            source: None,
        });
    }
    // der 0.7 accepts GeneralizedTime only without fractional seconds, so a
    // TSA that sends them (many public ones do) fails here; say so plainly.
    let tst = TstInfo::from_der(econtent.value()).map_err(Malformed::at(
        "TSTInfo (note: a genTime with fractional seconds is not supported; use a TSA with whole-second precision)",
    ))?;
    let since_epoch = tst.gen_time.to_unix_duration();
    let gen_time = i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or(Malformed {
            what: "TSTInfo genTime out of range",
            source: None,
        })?;
    Ok(TokenFacts {
        imprint_algorithm: tst.message_imprint.hash_algorithm.oid,
        imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        nonce: tst.nonce.map(|n| n.as_bytes().to_vec()),
        gen_time,
        serial: tst.serial_number.as_bytes().to_vec(),
    })
}

/// Whether a token's imprint is a SHA-256 imprint of exactly `root`.
pub(super) fn imprint_is(facts: &TokenFacts, root: &[u8; 32]) -> bool {
    facts.imprint_algorithm == ID_SHA_256 && facts.imprint.as_slice() == root.as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_root_nonce_and_cert_req() {
        let root = [7u8; 32];
        let nonce = [0x11u8, 0x22, 0x33];
        let der = encode_request(&root, &nonce).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), root);
        assert_eq!(req.message_imprint.hash_algorithm.oid, ID_SHA_256);
        assert_eq!(req.nonce.unwrap().as_bytes(), nonce);
        assert!(req.cert_req);
    }

    #[test]
    fn rejection_response_is_refused_not_malformed() {
        // TimeStampResp { status { status 2 } }
        let body = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02];
        match parse_response(&body).unwrap() {
            ResponseOutcome::Refused { status, .. } => assert_eq!(status, "rejection"),
            other => panic!("expected refusal, got {other:?}"),
        }
    }

    #[test]
    fn granted_without_token_is_malformed() {
        let body = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00];
        assert!(parse_response(&body).is_err());
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(parse_response(b"not der").is_err());
        assert!(parse_token(b"not der").is_err());
        assert!(parse_token(&[]).is_err());
    }
}
