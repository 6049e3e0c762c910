//! The audit log as the commands use it (EU AI Act Article 12).
//!
//! `detect`, `calibrate`, `train-detector`, `explain` and `review` write their
//! decisions here by default; there is no flag that turns it off. Where:
//! `--audit-dir` (default `audit_logs/`) holds the embedded store
//! (`audit.db`, SQLite), the append-only JSONL mirror, the Ed25519 signing
//! key (generated on first use unless `CAUSALDEFEND_AUDIT__SIGNING_KEY_FILE`
//! names one) and the anchors. With `DATABASE_URL` (a `postgres://` URL) the
//! records go to PostgreSQL instead (schema `CAUSALDEFEND_AUDIT__PG_SCHEMA`,
//! default `causaldefend`), still mirrored to the JSONL files.

use std::path::{Path, PathBuf};

use anyhow::Context;
use compliance::{
    AuditLog, AuditRecord, AuditSigner, PostgresStore, RecordDraft, RecordKind, SqliteStore,
};

/// Who is acting, as every record names it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// User id (`--user`, else `$CAUSALDEFEND_USER`, else `$USER`).
    pub user_id: String,
    /// Session id (`--session`, else one per process run).
    pub session_id: String,
}

impl Actor {
    /// The actor of this run.
    pub fn current(user: Option<&str>, session: Option<&str>) -> Self {
        let user_id = user
            .map(str::to_owned)
            .or_else(|| std::env::var("CAUSALDEFEND_USER").ok())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".to_owned());
        let session_id = session.map(str::to_owned).unwrap_or_else(|| {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
            format!("{:x}-{:x}", now, std::process::id())
        });
        Self {
            user_id,
            session_id,
        }
    }
}

enum Backend {
    Sqlite(Box<AuditLog<SqliteStore>>),
    Postgres(Box<AuditLog<PostgresStore>>),
}

/// An open audit log plus the actor of this run.
pub struct Auditor {
    backend: Backend,
    actor: Actor,
    dir: PathBuf,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("dir", &self.dir)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// The signing key's path: `CAUSALDEFEND_AUDIT__SIGNING_KEY_FILE`, else `dir/signing_key.pem`.
pub fn key_path(dir: &Path) -> PathBuf {
    std::env::var_os("CAUSALDEFEND_AUDIT__SIGNING_KEY_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("signing_key.pem"))
}

/// The PostgreSQL URL when the records go there.
pub fn postgres_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// The PostgreSQL schema of the audit table.
pub fn postgres_schema() -> String {
    std::env::var("CAUSALDEFEND_AUDIT__PG_SCHEMA").unwrap_or_else(|_| "causaldefend".to_owned())
}

impl Auditor {
    /// Opens (creating when needed) the audit log under `dir`.
    ///
    /// # Errors
    /// The folder, key, database or mirror cannot be opened: the command
    /// must not run without its audit log.
    pub fn open(dir: &Path, actor: Actor) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the audit log folder {}", dir.display()))?;
        let kp = key_path(dir);
        let existed = kp.is_file();
        let signer = AuditSigner::read_or_generate(&kp)
            .with_context(|| format!("audit signing key {}", kp.display()))?;
        if !existed {
            tracing::warn!(key = %kp.display(), key_id = signer.key_id(), "generated a new audit signing key; keep it safe and give verifiers its public key");
            let pubp = kp.with_extension("pub.pem");
            std::fs::write(&pubp, signer.public_key_pem()?)
                .with_context(|| format!("writing {}", pubp.display()))?;
        }
        let backend = match postgres_url() {
            Some(url) => {
                let store = PostgresStore::connect(&url, &postgres_schema())
                    .context("opening the audit log in PostgreSQL (DATABASE_URL)")?;
                Backend::Postgres(Box::new(AuditLog::open(store, signer, dir)?))
            }
            None => {
                let db = dir.join("audit.db");
                let store = SqliteStore::open(&db)
                    .with_context(|| format!("opening the audit database {}", db.display()))?;
                Backend::Sqlite(Box::new(AuditLog::open(store, signer, dir)?))
            }
        };
        Ok(Self {
            backend,
            actor,
            dir: dir.to_owned(),
        })
    }

    /// The folder of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The actor of this run.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// A draft with this run's actor.
    pub fn draft(
        &self,
        kind: RecordKind,
        inputs_digest: String,
        model_version: String,
        output: serde_json::Value,
        reason: String,
        subject: Option<String>,
    ) -> RecordDraft {
        RecordDraft {
            kind,
            user_id: self.actor.user_id.clone(),
            session_id: self.actor.session_id.clone(),
            inputs_digest,
            model_version,
            output,
            reason,
            subject,
        }
    }

    /// Appends records in one transaction.
    ///
    /// # Errors
    /// The store or mirror refused them: the caller stops.
    pub fn append_many(&mut self, drafts: Vec<RecordDraft>) -> anyhow::Result<Vec<AuditRecord>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let r = match &mut self.backend {
            Backend::Sqlite(l) => l.append_many(drafts),
            Backend::Postgres(l) => l.append_many(drafts),
        };
        r.context("writing the audit log")
    }

    /// Appends one record.
    ///
    /// # Errors
    /// As [`Self::append_many`].
    pub fn append(&mut self, draft: RecordDraft) -> anyhow::Result<AuditRecord> {
        self.append_many(vec![draft])?
            .pop()
            .context("the audit log sealed no record")
    }
}

impl Auditor {
    /// Deletes records older than `older_than` under the retention policy.
    ///
    /// # Errors
    /// Store or mirror failures.
    pub fn apply_retention(
        &mut self,
        older_than: chrono::DateTime<chrono::Utc>,
        user_id: &str,
    ) -> anyhow::Result<Option<compliance::RetentionOutcome>> {
        let r = match &mut self.backend {
            Backend::Sqlite(l) => l.apply_retention(older_than, user_id),
            Backend::Postgres(l) => l.apply_retention(older_than, user_id),
        };
        r.context("applying the audit retention policy")
    }
}

impl Auditor {
    /// Records a `config_change` when the effective configuration `name`
    /// differs from the one last recorded (the digests of the last recorded
    /// configurations are kept in `config_state.json`; the records themselves
    /// are what is tamper-evident).
    ///
    /// # Errors
    /// The audit log refused the record, or the state file cannot be written.
    pub fn record_config(
        &mut self,
        name: &str,
        effective: &serde_json::Value,
    ) -> anyhow::Result<()> {
        let canonical = compliance::canonical::to_canonical_string(effective)
            .with_context(|| format!("configuration {name} is not canonical JSON"))?;
        let digest = compliance::record::sha256_hex(canonical.as_bytes());
        let state_path = self.dir.join("config_state.json");
        let mut state: serde_json::Map<String, serde_json::Value> =
            std::fs::File::open(&state_path)
                .ok()
                .and_then(|f| serde_json::from_reader(std::io::Read::take(f, 1 << 20)).ok())
                .unwrap_or_default();
        if state.get(name).and_then(serde_json::Value::as_str) == Some(digest.as_str()) {
            return Ok(());
        }
        let previous = state.get(name).cloned();
        let draft = self.draft(
            RecordKind::ConfigChange,
            digest.clone(),
            String::new(),
            serde_json::json!({"config": name, "digest": digest, "previous_digest": previous, "effective": effective}),
            if previous.is_some() { "configuration changed" } else { "configuration first used" }.to_owned(),
            None,
        );
        self.append(draft)?;
        state.insert(name.to_owned(), serde_json::Value::String(digest));
        std::fs::write(&state_path, serde_json::to_string_pretty(&state)?)
            .with_context(|| format!("writing {}", state_path.display()))?;
        Ok(())
    }
}

/// Hex SHA-256 of a file's bytes, or of its path when it is a folder
/// (inputs' digest of a record).
pub fn digest_of(path: &Path) -> String {
    if path.is_file() {
        if let Ok(d) = crate::conformal_cmd::sha256_file(path) {
            return d;
        }
    }
    compliance::record::sha256_hex(path.display().to_string().as_bytes())
}
