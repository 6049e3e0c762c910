//! The workspace's crates are pipeline stages; a stage may depend only on
//! stages before it. This test reads `cargo metadata` and fails on an
//! upward or cyclic edge (house style, "Layout").

use std::process::Command;

/// Pipeline order. A crate may depend on crates earlier in this list only.
const ORDER: &[&str] = &[
    "causaldefend-event",
    "causaldefend-ingest",
    "causaldefend-graph",
    "causaldefend-detect",
    "causaldefend-explain",
    "causaldefend-uncertainty",
    "causaldefend-compliance",
    "causaldefend-store",
    "causaldefend-server",
    "causaldefend",
];

/// Edges that the pipeline order alone would allow but the style forbids.
const FORBIDDEN: &[(&str, &str)] = &[
    ("causaldefend-ingest", "causaldefend-graph"),
    ("causaldefend-graph", "causaldefend-ingest"),
    ("causaldefend-uncertainty", "causaldefend-detect"),
    ("causaldefend-uncertainty", "causaldefend-graph"),
];

#[test]
fn stages_depend_only_downstream() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    assert!(packages.len() >= 4, "workspace has its stage crates");
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let rank = ORDER
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("crate {name} is not in the pipeline ORDER list"));
        for d in p["dependencies"].as_array().unwrap() {
            if d["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep = d["name"].as_str().unwrap();
            if let Some(dep_rank) = ORDER.iter().position(|n| *n == dep) {
                assert!(
                    dep_rank < rank,
                    "{name} depends on {dep}, which is not upstream of it"
                );
                assert!(
                    !FORBIDDEN.contains(&(name, dep)),
                    "{name} must not depend on {dep}"
                );
            }
        }
    }
}
