//! Converting MITRE's STIX 2.1 bundle (`enterprise-attack-<version>.json`)
//! into an [`AttackTable`]: the documented way to update `data/attack/`.
//!
//! Fields used, per the ATT&CK STIX data model: objects of type
//! `attack-pattern`; the `external_references` entry whose `source_name` is
//! `mitre-attack` gives `external_id` and `url`; `kill_chain_phases` entries of
//! the `mitre-attack` chain give the tactics; `x_mitre_platforms`, `revoked`,
//! `x_mitre_deprecated`, `x_mitre_is_subtechnique`. The bundle's
//! `x-mitre-collection` object gives the version (`x_mitre_version`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::json_items::{walk_array, JsonObject};
use super::table::{bad_file, insert, json_fault, AttackTable, Technique, MAX_TABLE_BYTES};
use crate::Result;

/// `source_name` of ATT&CK's own external reference and name of its kill chain.
const MITRE_ATTACK: &str = "mitre-attack";

impl AttackTable {
    /// Converts an official MITRE ATT&CK STIX 2.1 bundle, read from `reader`
    /// (plain JSON; at most [`MAX_TABLE_BYTES`] are read), into a table.
    /// `origin` names the input in errors. Objects other than
    /// `attack-pattern` are skipped; revoked and deprecated techniques are
    /// kept, flagged, so that old references still resolve.
    ///
    /// # Errors
    /// [`crate::Error::BadFile`] naming `origin`, the object index and the
    /// field when an attack-pattern lacks its ATT&CK id or name or a field
    /// has the wrong type, or when the JSON is malformed or too large.
    pub fn from_stix_bundle<R: Read>(reader: R, origin: &Path) -> Result<Self> {
        let mut capped = reader.take(MAX_TABLE_BYTES);
        let mut techniques = BTreeMap::new();
        let mut version = None;
        let walk = walk_array(&mut capped, "objects", |_, item| {
            let o = JsonObject::new(&item)?;
            match o.str("type")? {
                "attack-pattern" => insert(&mut techniques, technique_from_stix(&o)?),
                "x-mitre-collection" => {
                    version = o.opt_str("x_mitre_version")?.map(str::to_owned);
                    Ok(())
                }
                _ => Ok(()),
            }
        })
        .map_err(|e| json_fault(origin, &e, capped.limit() == 0))?;
        if !walk.saw_array {
            return Err(bad_file(
                origin,
                "no `objects` array: not a STIX bundle".to_owned(),
            ));
        }
        let version = version.unwrap_or_else(|| {
            tracing::warn!(
                message = "STIX bundle has no x-mitre-collection version.",
                path = %origin.display()
            );
            "unknown".to_owned()
        });
        tracing::info!(
            message = "Converted STIX bundle.",
            path = %origin.display(),
            version = %version,
            techniques = techniques.len()
        );
        Self::from_techniques(version, techniques.into_values())
            .map_err(|e| bad_file(origin, e.to_string()))
    }
}

/// One `attack-pattern` object as a technique; errors name the STIX id and field.
fn technique_from_stix(o: &JsonObject<'_>) -> std::result::Result<Technique, String> {
    let stix_id = o.opt_str("id")?.unwrap_or("?");
    let at = |m: String| format!("({stix_id}) {m}");
    let mut external = None;
    for r in o.obj_list("external_references").map_err(at)? {
        if r.opt_str("source_name").map_err(at)? == Some(MITRE_ATTACK) {
            let id = r
                .str("external_id")
                .map_err(|m| at(format!("external_references[{MITRE_ATTACK}]: {m}")))?;
            external = Some((id, r.opt_str("url").map_err(at)?.unwrap_or_default()));
            break;
        }
    }
    let (id, url) = external.ok_or_else(|| {
        at(format!(
            "field `external_references`: no `{MITRE_ATTACK}` entry"
        ))
    })?;
    let mut tactics = Vec::new();
    for p in o.obj_list("kill_chain_phases").map_err(at)? {
        if p.opt_str("kill_chain_name").map_err(at)? == Some(MITRE_ATTACK) {
            tactics.push(p.str("phase_name").map_err(at)?.to_owned());
        }
    }
    Ok(Technique {
        id: id.to_owned(),
        name: o.str("name").map_err(at)?.to_owned(),
        tactics,
        platforms: o.str_list("x_mitre_platforms").map_err(at)?,
        url: url.to_owned(),
        is_subtechnique: o
            .bool_or("x_mitre_is_subtechnique", id.contains('.'))
            .map_err(at)?,
        revoked: o.bool_or("revoked", false).map_err(at)?,
        deprecated: o.bool_or("x_mitre_deprecated", false).map_err(at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_pattern_without_mitre_reference_names_index_and_field() {
        let doc = r#"{"type": "bundle", "objects": [
            {"type": "identity", "id": "identity--1", "name": "MITRE"},
            {"type": "attack-pattern", "id": "attack-pattern--x", "name": "N",
             "external_references": [{"source_name": "capec", "external_id": "CAPEC-1"}]}
        ]}"#;
        let err = AttackTable::from_stix_bundle(doc.as_bytes(), Path::new("b.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("b.json: objects[1]: (attack-pattern--x) field `external_references`"),
            "{err}"
        );
    }

    #[test]
    fn only_the_mitre_attack_kill_chain_gives_tactics() {
        let doc = r#"{"objects": [
            {"type": "attack-pattern", "id": "attack-pattern--y", "name": "N",
             "external_references": [{"source_name": "mitre-attack", "external_id": "T9"}],
             "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack", "phase_name": "inhibit-response-function"},
                                   {"kill_chain_name": "mitre-attack", "phase_name": "impact"}]}
        ]}"#;
        let t = AttackTable::from_stix_bundle(doc.as_bytes(), Path::new("b.json")).unwrap();
        assert_eq!(t.get("T9").unwrap().tactics, ["impact"]);
        assert_eq!(t.version(), "unknown");
    }
}
