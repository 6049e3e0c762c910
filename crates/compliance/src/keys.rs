//! The Ed25519 key that signs audit records, and the public half verifiers use.
//!
//! The private key lives in a PKCS#8 PEM file, the format
//! `openssl genpkey -algorithm ed25519` writes, so operators can create and
//! rotate it with standard tools. Records carry a `key_id` (hex of the first
//! 8 bytes of SHA-256 of the public key) so a verifier holding several keys
//! (after rotation) knows which one to use.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{hex, Error, Result};

/// Key files are a few hundred bytes; anything bigger is not a key.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Signs the hash of each audit record.
pub struct AuditSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("AuditSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// `key_id` of a public key: hex of the first 8 bytes of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(digest.get(..8).unwrap_or_default())
}

fn read_small_file(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut text = String::new();
    let mut reader = BufReader::new(file.take(MAX_KEY_FILE_BYTES.saturating_add(1)));
    // Line by line: the reader is capped by `take`, so this is bounded.
    loop {
        let n = reader.read_line(&mut text).map_err(io)?;
        if n == 0 {
            break;
        }
    }
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            reason: format!("longer than {MAX_KEY_FILE_BYTES} bytes; not a key file"),
        });
    }
    Ok(text)
}

impl AuditSigner {
    /// Wraps an in-memory key (tests, HSM exports).
    pub fn from_signing_key(key: SigningKey) -> Self {
        let key_id = key_id(&key.verifying_key());
        Self { key, key_id }
    }

    /// A fresh key from the operating system's random source.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when the OS has no randomness to give.
    pub fn generate() -> Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| Error::BadArgument {
            what: "random source",
            reason: e.to_string(),
        })?;
        let key = SigningKey::from_bytes(&secret);
        Ok(Self::from_signing_key(key))
    }

    /// Loads a PKCS#8 PEM private key (`openssl genpkey -algorithm ed25519`).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::BadFile`] (too large), [`Error::PrivateKey`].
    pub fn read_pem(path: &Path) -> Result<Self> {
        let text = read_small_file(path)?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|source| Error::PrivateKey {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::from_signing_key(key))
    }

    /// Generates a key and writes it as PKCS#8 PEM, readable by its owner
    /// only (0600), refusing to overwrite an existing file.
    ///
    /// # Errors
    /// [`Error::Io`] (including "already exists"), [`Error::BadArgument`].
    pub fn generate_to(path: &Path) -> Result<Self> {
        let signer = Self::generate()?;
        let pem = signer
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::BadArgument {
                what: "private key",
                reason: format!("cannot encode as PKCS#8: {e}"),
            })?;
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        file.write_all(pem.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        tracing::info!(message = "Generated audit signing key.", path = %path.display(), key_id = %signer.key_id);
        Ok(signer)
    }

    /// Reads the key at `path`, or generates it there when the file is absent.
    ///
    /// # Errors
    /// As [`Self::read_pem`] and [`Self::generate_to`].
    pub fn read_or_generate(path: &Path) -> Result<Self> {
        if path.exists() {
            Self::read_pem(path)
        } else {
            Self::generate_to(path)
        }
    }

    /// Identifier written into each record.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key verifiers need.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Public key as SPKI PEM (`openssl pkey -pubout` format).
    ///
    /// # Errors
    /// [`Error::BadArgument`] if encoding fails (it does not for valid keys).
    pub fn public_key_pem(&self) -> Result<String> {
        self.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::BadArgument {
                what: "public key",
                reason: e.to_string(),
            })
    }

    /// Public key as 64 hex digits.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// Hex Ed25519 signature over the 32 digest bytes.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> String {
        hex::encode(&self.key.sign(digest).to_bytes())
    }
}

/// Parses a public key given as SPKI PEM or as 64 hex digits.
///
/// # Errors
/// [`Error::BadArgument`] when it is neither.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    let trimmed = text.trim();
    if trimmed.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(trimmed).map_err(|e| Error::BadArgument {
            what: "public key",
            reason: format!("not an Ed25519 SPKI PEM key: {e}"),
        });
    }
    let bytes = hex::decode_array::<32>(trimmed).ok_or_else(|| Error::BadArgument {
        what: "public key",
        reason: "neither PEM nor 64 lower-case hex digits".to_string(),
    })?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| Error::BadArgument {
        what: "public key",
        reason: format!("not a valid Ed25519 point: {e}"),
    })
}

/// Reads a public key file (PEM or hex).
///
/// # Errors
/// [`Error::Io`], [`Error::BadFile`].
pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let text = read_small_file(path)?;
    parse_public_key(&text).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let a = AuditSigner::generate_to(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = AuditSigner::read_or_generate(&path).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        assert_eq!(a.key_id().len(), 16);
        assert!(
            AuditSigner::generate_to(&path).is_err(),
            "must not overwrite"
        );
        let pem = a.public_key_pem().unwrap();
        assert_eq!(parse_public_key(&pem).unwrap(), a.verifying_key());
        assert_eq!(
            parse_public_key(&a.public_key_hex()).unwrap(),
            a.verifying_key()
        );
    }

    #[test]
    fn reads_openssl_genpkey_output() {
        // Generated once with `openssl genpkey -algorithm ed25519` for this test.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIMz51VpUpjQIeGWDkU1EV5mMzJewXRCDQp1YIG7gWQZi\n-----END PRIVATE KEY-----\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, pem).unwrap();
        let signer = AuditSigner::read_pem(&path).unwrap();
        assert_eq!(signer.key_id().len(), 16);
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            AuditSigner::read_pem(&path),
            Err(Error::PrivateKey { .. })
        ));
    }
}
