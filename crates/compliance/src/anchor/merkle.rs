//! Merkle tree over audit record hashes, as RFC 9162 (Certificate Transparency
//! v2) section 2.1 defines it.
//!
//! Why RFC 9162 and not an ad-hoc tree: the 0x00 / 0x01 domain prefixes make a
//! leaf impossible to pass off as an inner node (the second-preimage attack on
//! naive Merkle trees), and the split rule ("largest power of two smaller than
//! n") gives every tree size exactly one shape, so a verifier years later
//! recomputes the same root from the same records. An inclusion proof lets one
//! record be shown to lie under an anchored root without handing over the
//! whole range (log2(n) hashes).
//!
//! Leaves are the records' own SHA-256 hashes (32 bytes); the tree hashes them
//! again with the leaf prefix. Memory: the root is computed recursively with
//! depth log2(n) and no allocation beyond the call stack; a proof holds
//! ceil(log2(n)) hashes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::encoding;
use crate::{Error, Result};

/// RFC 9162 2.1.1: prefix of a leaf hash.
const LEAF_PREFIX: u8 = 0x00;
/// RFC 9162 2.1.1: prefix of an inner node hash.
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || record_hash)`: the tree hash of one record.
#[must_use]
pub fn leaf_hash(record_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(record_hash);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an inner node.
#[must_use]
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle tree hash (RFC 9162 `MTH`) of a list of record hashes.
///
/// The empty list hashes to `SHA-256("")`, as the RFC defines; an anchor never
/// covers zero records, so callers see that value only if they ask for it.
#[must_use]
pub fn merkle_root(record_hashes: &[[u8; 32]]) -> [u8; 32] {
    match record_hashes {
        [] => Sha256::digest([]).into(),
        [only] => leaf_hash(only),
        _ => {
            let (left, right) = split(record_hashes);
            node_hash(&merkle_root(left), &merkle_root(right))
        }
    }
}

/// Parse a record hash written as 64 hex digits (how the audit log stores it).
///
/// # Errors
/// [`Error::BadArgument`] when the text is not exactly 64 hex digits.
pub fn parse_record_hash(hex: &str) -> Result<[u8; 32]> {
    encoding::parse_hex32(hex).ok_or_else(|| Error::BadArgument {
        what: "record hash",
        reason: format!(
            "expected 64 hex digits, found {:?}",
            truncate_for_message(hex)
        ),
    })
}

/// Keeps error messages bounded when the input is attacker-sized.
fn truncate_for_message(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Evidence that one record hash is a leaf of a tree with a given root
/// (RFC 9162 2.1.3). The path is ordered from the leaf upwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Zero-based position of the record among the covered records
    /// (record `first_seq + leaf_index` of the anchor).
    pub leaf_index: u64,
    /// Number of records under the root.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up to the root, as 64 hex digits each.
    #[serde(with = "hex_path")]
    pub path: Vec<[u8; 32]>,
}

/// Build the inclusion proof of the record at `leaf_index` in `record_hashes`.
///
/// # Errors
/// [`Error::BadArgument`] when `leaf_index` is not a position in the list.
pub fn inclusion_proof(record_hashes: &[[u8; 32]], leaf_index: u64) -> Result<InclusionProof> {
    let n = record_hashes.len();
    let index = usize::try_from(leaf_index)
        .ok()
        .filter(|&i| i < n)
        .ok_or_else(|| Error::BadArgument {
            what: "leaf_index",
            reason: format!("{leaf_index} is outside a tree of {n} records"),
        })?;
    let mut path = Vec::new();
    collect_path(index, record_hashes, &mut path);
    Ok(InclusionProof {
        leaf_index,
        // usize always fits in u64 on the platforms we build for.
        tree_size: n as u64,
        path,
    })
}

/// RFC 9162 2.1.3.1 `PATH(m, D[n])`, pushed leaf-first. `m < d.len()` holds on
/// every call (checked at the entry point, kept by the split).
fn collect_path(m: usize, d: &[[u8; 32]], out: &mut Vec<[u8; 32]>) {
    if d.len() <= 1 {
        return;
    }
    let (left, right) = split(d);
    let k = left.len();
    if m < k {
        collect_path(m, left, out);
        out.push(merkle_root(right));
    } else {
        collect_path(m - k, right, out);
        out.push(merkle_root(left));
    }
}

/// Check that `record_hash` is the leaf at `proof.leaf_index` of the tree
/// whose root is `root` (RFC 9162 2.1.3.2). Never panics on a hostile proof:
/// a wrong length, index or sibling just yields `false`.
#[must_use]
pub fn verify_inclusion(record_hash: &[u8; 32], proof: &InclusionProof, root: &[u8; 32]) -> bool {
    if proof.leaf_index >= proof.tree_size {
        return false;
    }
    let mut f_n = proof.leaf_index;
    let mut s_n = proof.tree_size - 1;
    let mut r = leaf_hash(record_hash);
    for p in &proof.path {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// RFC 9162 split: the left part holds the largest power of two strictly
/// smaller than `d.len()`. Callers guarantee `d.len() >= 2`.
fn split(d: &[[u8; 32]]) -> (&[[u8; 32]], &[[u8; 32]]) {
    let n = d.len();
    let mut k = 1usize;
    while k.saturating_mul(2) < n {
        k *= 2;
    }
    // k < n by construction, so the split never runs past the end.
    d.split_at(k.min(n))
}

/// Serde adapter: a proof path as a list of hex strings, so proofs are
/// readable in JSON exports and stable across languages.
mod hex_path {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    use super::encoding;

    pub(super) fn serialize<S: Serializer>(path: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(path.iter().map(|h| encoding::to_hex(h)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                encoding::parse_hex32(t)
                    .ok_or_else(|| D::Error::custom("proof path entries are 64 hex digits"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u8) -> [u8; 32] {
        Sha256::digest([b'r', i]).into()
    }

    fn sha(parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    #[test]
    fn root_of_one_record_is_its_prefixed_leaf_hash() {
        let a = record(0);
        assert_eq!(merkle_root(&[a]), sha(&[&[0x00], &a]));
    }

    #[test]
    fn root_of_two_records_is_one_node() {
        let (a, b) = (record(0), record(1));
        let la = sha(&[&[0x00], &a]);
        let lb = sha(&[&[0x00], &b]);
        assert_eq!(merkle_root(&[a, b]), sha(&[&[0x01], &la, &lb]));
    }

    #[test]
    fn root_of_three_records_splits_two_then_one() {
        let (a, b, c) = (record(0), record(1), record(2));
        let la = sha(&[&[0x00], &a]);
        let lb = sha(&[&[0x00], &b]);
        let lc = sha(&[&[0x00], &c]);
        let left = sha(&[&[0x01], &la, &lb]);
        assert_eq!(merkle_root(&[a, b, c]), sha(&[&[0x01], &left, &lc]));
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(merkle_root(&[]), sha(&[]));
    }

    #[test]
    fn leaf_and_node_hashes_differ_for_the_same_bytes() {
        // The domain separation that stops a node being passed off as a leaf.
        let a = record(7);
        assert_ne!(leaf_hash(&a), sha(&[&a]));
    }

    #[test]
    fn proofs_round_trip_for_sizes_1_to_33() {
        for n in 1u8..=33 {
            let hashes: Vec<[u8; 32]> = (0..n).map(record).collect();
            let root = merkle_root(&hashes);
            for i in 0..n {
                let proof = inclusion_proof(&hashes, u64::from(i)).unwrap();
                assert!(
                    verify_inclusion(&hashes[usize::from(i)], &proof, &root),
                    "n={n} i={i}"
                );
                // A different record at the same position is refused.
                assert!(
                    !verify_inclusion(&record(200), &proof, &root),
                    "n={n} i={i}"
                );
                // The same proof claimed for a neighbouring index is refused.
                if n > 1 {
                    let mut moved = proof.clone();
                    moved.leaf_index = (moved.leaf_index + 1) % u64::from(n);
                    assert!(
                        !verify_inclusion(&hashes[usize::from(i)], &moved, &root),
                        "n={n} i={i}"
                    );
                }
                // A tampered sibling is refused.
                if let Some(first) = proof.path.first() {
                    let mut bad = proof.clone();
                    let mut sib = *first;
                    sib[0] ^= 1;
                    bad.path[0] = sib;
                    assert!(
                        !verify_inclusion(&hashes[usize::from(i)], &bad, &root),
                        "n={n} i={i}"
                    );
                }
            }
        }
    }

    #[test]
    fn proof_for_an_index_past_the_end_is_an_error() {
        let hashes = [record(0), record(1)];
        assert!(matches!(
            inclusion_proof(&hashes, 2),
            Err(Error::BadArgument { .. })
        ));
        assert!(inclusion_proof(&[], 0).is_err());
    }

    #[test]
    fn hostile_proofs_are_refused_without_panicking() {
        let hashes: Vec<[u8; 32]> = (0..5).map(record).collect();
        let root = merkle_root(&hashes);
        let mut proof = inclusion_proof(&hashes, 4).unwrap();
        proof.path.push([0; 32]);
        assert!(!verify_inclusion(&hashes[4], &proof, &root));
        let zero = InclusionProof {
            leaf_index: 0,
            tree_size: 0,
            path: vec![],
        };
        assert!(!verify_inclusion(&hashes[0], &zero, &root));
        let huge = InclusionProof {
            leaf_index: u64::MAX - 1,
            tree_size: u64::MAX,
            path: vec![[0; 32]; 3],
        };
        assert!(!verify_inclusion(&hashes[0], &huge, &root));
    }

    #[test]
    fn proof_serialises_path_as_hex() {
        let hashes: Vec<[u8; 32]> = (0..3).map(record).collect();
        let proof = inclusion_proof(&hashes, 1).unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        assert!(json.contains(&encoding::to_hex(&proof.path[0])));
        let back: InclusionProof = serde_json::from_str(&json).unwrap();
        assert_eq!(back, proof);
    }

    #[test]
    fn parses_record_hashes_from_hex() {
        let h = record(3);
        assert_eq!(parse_record_hash(&encoding::to_hex(&h)).unwrap(), h);
        assert!(parse_record_hash("abc").is_err());
        assert!(parse_record_hash(&"zz".repeat(32)).is_err());
    }
}
