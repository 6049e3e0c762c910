//! The explanation as it is written out: JSON-ready views that name
//! entities the way their source does.

use event::{Entity, EntityKind, NativeId, Timestamp};
use serde::Serialize;

use crate::reduce::ReductionStats;

/// Text id of an entity (the same 16 hex digits `detect` writes).
pub fn entity_key(e: &Entity) -> String {
    format!("{:016x}", e.id.0)
}

/// RFC 3339 text of a time (UTC, nanoseconds), as `detect` writes it.
pub fn rfc3339(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_nanos(t.as_nanos())
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Short human label: `cat (pid 25398)`, `/etc/shadow`, `{GUID} powershell.exe`.
pub fn label(e: &Entity) -> String {
    let base = e
        .name
        .as_deref()
        .map(|n| {
            if e.kind == EntityKind::Process {
                n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned()
            } else {
                n.to_owned()
            }
        })
        .unwrap_or_else(|| e.kind.as_str().to_owned());
    match (&e.native, e.pid) {
        (_, Some(pid)) if e.kind == EntityKind::Process => format!("{base} (pid {pid})"),
        (NativeId::CdmUuid { uuid }, _) => format!("{base} [{uuid}]"),
        _ => base,
    }
}

/// One entity of the explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityView {
    /// 16 hex digits, as in `detect`'s output.
    pub entity_id: String,
    /// Entity kind.
    pub kind: &'static str,
    /// Human label.
    pub label: String,
    /// auditd or Sysmon process id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// auditd process start (with `pid`, the process's identity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Sysmon ProcessGuid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_guid: Option<String>,
    /// CDM UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Executable (processes) or name (others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    /// Parent pid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// User.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Roles in the explanation: `alerted`, `root_cause`, `boundary`, `critical_asset`.
    pub roles: Vec<&'static str>,
    /// Critical asset name, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Detector anomaly, 0..1 (score over the node threshold, capped), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<f64>,
    /// ATT&CK techniques of its own actions.
    pub techniques: Vec<String>,
}

impl EntityView {
    /// The view of `e`, with empty roles.
    pub fn of(e: &Entity) -> Self {
        let (mut pid, mut start, mut guid, mut uuid) = (e.pid, None, None, None);
        match &e.native {
            NativeId::AuditdProcess { pid: p, start: s } => {
                pid = Some(*p);
                start = Some(rfc3339(*s));
            }
            NativeId::SysmonProcess {
                process_guid,
                pid: p,
            } => {
                guid = Some(process_guid.clone());
                pid = p.or(pid);
            }
            NativeId::CdmUuid { uuid: u } => uuid = Some(u.clone()),
            NativeId::StreamSpot { .. } | NativeId::Name { .. } => {}
        }
        Self {
            entity_id: entity_key(e),
            kind: e.kind.as_str(),
            label: label(e),
            pid,
            start,
            process_guid: guid,
            uuid,
            name: e.name.as_deref().map(str::to_owned),
            cmdline: e.cmdline.as_deref().map(str::to_owned),
            ppid: e.ppid,
            user: e.user.as_deref().map(str::to_owned),
            host: e.host.as_deref().map(str::to_owned),
            roles: Vec::new(),
            asset: None,
            anomaly: None,
            techniques: Vec::new(),
        }
    }
}

/// One merged edge of the reduced graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeView {
    /// Where data came from (entity id).
    pub src: String,
    /// Where it went.
    pub dst: String,
    /// Event kind.
    pub kind: &'static str,
    /// The source's own event name.
    pub native_type: String,
    /// First event.
    pub first: String,
    /// Last event.
    pub last: String,
    /// Events merged.
    pub count: u64,
    /// ATT&CK techniques its events match.
    pub techniques: Vec<String>,
}

/// One edge of the causal graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausalEdgeView {
    /// Cause (entity id).
    pub from: String,
    /// Effect.
    pub to: String,
    /// False when the direction could not be decided.
    pub directed: bool,
    /// Strength in 0..1.
    pub strength: f64,
    /// Largest CI-test p-value seen for the pair.
    pub p_value: f64,
}

/// What causal discovery did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausalView {
    /// CI test used.
    pub ci_test: String,
    /// Significance level.
    pub alpha: f64,
    /// Entities that became variables.
    pub variables: usize,
    /// Time bins (samples).
    pub samples: usize,
    /// CI tests run.
    pub tests_run: usize,
    /// Causal edges found.
    pub edges: Vec<CausalEdgeView>,
    /// Why causal discovery was skipped or limited, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One step of a chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
    /// Entity id.
    pub entity: String,
    /// Its label.
    pub label: String,
    /// What led here (`fork`, `write`, `read`, ...); none for the root cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// ATT&CK techniques of this step.
    pub techniques: Vec<String>,
    /// Causal strength of the step's edge, when causal discovery confirmed it.
    pub causal_strength: Option<f64>,
}

/// A ranked chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainView {
    /// 1 = most important.
    pub rank: usize,
    /// Ranking score.
    pub score: f64,
    /// Steps from root cause to impact.
    pub steps: Vec<StepView>,
    /// The chain in plain language.
    pub narrative: String,
}

/// A technique of the alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TechniqueView {
    /// ATT&CK id.
    pub id: String,
    /// ATT&CK name.
    pub name: String,
    /// Tactics.
    pub tactics: Vec<String>,
    /// ATT&CK page.
    pub url: String,
    /// Ranking score: rule confidence times evidence, boosted on chains.
    pub score: f64,
    /// Events that matched.
    pub events: u64,
    /// Rules that fired.
    pub rules: Vec<String>,
    /// Entities that performed it.
    pub entities: Vec<String>,
}

/// One item a counterfactual blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockView {
    /// `entity` or `event`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Entity id (for an event: its actor).
    pub entity: String,
    /// Human description.
    pub description: String,
}

/// "Blocking X would have stopped Y."
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterfactualView {
    /// Root cause.
    pub root: String,
    /// What it reached.
    pub targets: Vec<String>,
    /// Smallest set to block.
    pub block: Vec<BlockView>,
    /// True when reachability without the block set confirms it.
    pub verified: bool,
    /// The sentence.
    pub statement: String,
}

/// A critical asset reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalView {
    /// Entity id.
    pub entity: String,
    /// Its label.
    pub label: String,
    /// Asset name from the config.
    pub asset: String,
    /// Hops from the traced graph.
    pub hops: usize,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timing {
    /// Tier 1.
    pub reduce_ms: f64,
    /// ATT&CK rules.
    pub techniques_ms: f64,
    /// Tiers 2 and 3.
    pub causal_ms: f64,
    /// Chains, narratives, counterfactuals.
    pub chains_ms: f64,
    /// All of it.
    pub total_ms: f64,
}

/// The explanation of one alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Format version of this object.
    pub schema: &'static str,
    /// Entities the explanation started from (ids).
    pub seeds: Vec<String>,
    /// Root causes (ids).
    pub root_causes: Vec<String>,
    /// Entities of the reduced graph.
    pub entities: Vec<EntityView>,
    /// Edges of the reduced graph.
    pub edges: Vec<EdgeView>,
    /// How much was kept.
    pub reduction: ReductionStats,
    /// Critical assets reached.
    pub critical_assets: Vec<CriticalView>,
    /// Causal discovery.
    pub causal: CausalView,
    /// Ranked attack chains.
    pub chains: Vec<ChainView>,
    /// ATT&CK techniques of the whole alert, ranked.
    pub techniques: Vec<TechniqueView>,
    /// The story in plain language.
    pub narrative: String,
    /// What would have stopped it.
    pub counterfactuals: Vec<CounterfactualView>,
    /// Time spent.
    pub timing: Timing,
    /// ATT&CK version the names come from.
    pub attack_version: String,
}

/// Schema name of [`Explanation`].
pub const EXPLANATION_SCHEMA: &str = "cd-explanation-v1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(
            rfc3339(Timestamp::from_nanos(0)),
            "1970-01-01T00:00:00.000000000Z"
        );
        // `date -u -d @1795507875.815135 +%FT%T` prints 2026-11-24T08:11:15
        assert_eq!(
            rfc3339(Timestamp::from_nanos(1_795_507_875_815_135_000)),
            "2026-11-24T08:11:15.815135000Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_nanos(951_782_400_000_000_000)),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
