//! Node records (`Subject`, `*Object`, `Principal`, `Host`) → [`Entity`].
//!
//! Only what the later stages use is read: identity, a name, the process
//! attributes and socket addresses. The field → attribute table is in
//! `docs/formats/cdm.md`; every other field is skipped.

use std::sync::Arc;

use event::{Entity, EntityKind, NativeId, Timestamp};
use serde_json::{Map, Value};

use super::mapping::file_kind;
use super::value::{
    loose_i64, opt_string, prop, properties, req_i64, req_string, req_uuid, At, UuidShape,
};
use crate::error::Result;

/// A string written bare (CDM18 `string`) or as a union (CDM20 `union {null, string}`).
fn loose_string<'v>(
    at: At<'_>,
    obj: &'v Map<String, Value>,
    name: &str,
) -> Result<Option<&'v str>> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(Some(s)),
        _ => opt_string(at, obj, name),
    }
}

/// The `properties` map of a record's `baseObject` (objects keep theirs there).
fn base_properties<'v>(
    at: At<'_>,
    obj: &'v Map<String, Value>,
) -> Result<Option<&'v Map<String, Value>>> {
    match obj.get("baseObject") {
        Some(Value::Object(base)) => properties(at, base, "properties"),
        None | Some(Value::Null) => Ok(None),
        Some(v) => Err(at.malformed("baseObject", "an AbstractObject record", v)),
    }
}

/// The optional attributes a node record may fill.
#[derive(Default)]
struct Attrs {
    pid: Option<u32>,
    ppid: Option<u32>,
    cmdline: Option<Arc<str>>,
    user: Option<Arc<str>>,
    start: Option<Timestamp>,
    local_addr: Option<Arc<str>>,
    remote_addr: Option<Arc<str>>,
}

/// Parses one node record of kind `kind` (from the record type); returns its
/// canonical UUID and the entity.
pub(crate) fn parse_node(
    at: At<'_>,
    body: &Map<String, Value>,
    kind: EntityKind,
    shape: UuidShape,
    host: Option<Arc<str>>,
) -> Result<(String, Entity)> {
    let uuid = req_uuid(at, body, "uuid", shape)?;
    let mut kind = kind;
    let mut name: Option<String> = None;
    let mut attrs = Attrs::default();
    match at.record {
        "Subject" => {
            let pid_field = if body.contains_key("cid") {
                "cid"
            } else {
                "pid"
            };
            let pid = req_i64(at, body, pid_field)?;
            let props = properties(at, body, "properties")?;
            let cmdline = opt_string(at, body, "cmdLine")?;
            let ppid = loose_i64(at, body, "ppid")?;
            let start = match loose_i64(at, body, "startTimestampNanos")? {
                Some(n) => Some(Timestamp::from_nanos(n)),
                None => {
                    loose_i64(at, body, "startTimestampMicros")?.and_then(Timestamp::from_micros)
                }
            };
            name = prop(props, "name")
                .or_else(|| prop(props, "path"))
                .or_else(|| cmdline.and_then(|c| c.split_ascii_whitespace().next()))
                .map(str::to_owned);
            attrs = Attrs {
                pid: u32::try_from(pid).ok(),
                ppid: ppid.and_then(|p| u32::try_from(p).ok()),
                cmdline: cmdline.map(Arc::from),
                user: prop(props, "uid").map(Arc::from),
                start,
                ..Attrs::default()
            };
        }
        "FileObject" => {
            if let Some(t) = body.get("type") {
                let t = t
                    .as_str()
                    .ok_or_else(|| at.malformed("type", "a FileObjectType symbol", t))?;
                kind = file_kind(t);
            }
            if body.get("isPipe") == Some(&Value::Bool(true)) {
                kind = EntityKind::Pipe;
            }
            let url = loose_string(at, body, "url")?;
            let props = base_properties(at, body)?;
            name = url
                .map(|u| u.strip_prefix("file://").unwrap_or(u))
                .or_else(|| prop(props, "path"))
                .or_else(|| prop(props, "filename"))
                .map(str::to_owned);
        }
        "NetFlowObject" => {
            let la = loose_string(at, body, "localAddress")?;
            let lp = loose_i64(at, body, "localPort")?;
            let ra = loose_string(at, body, "remoteAddress")?;
            let rp = loose_i64(at, body, "remotePort")?;
            let addr = |a: Option<&str>, p: Option<i64>| match (a, p) {
                (Some(a), Some(p)) => Some(format!("{a}:{p}")),
                (Some(a), None) => Some(a.to_owned()),
                _ => None,
            };
            let local = addr(la, lp);
            let remote = addr(ra, rp);
            name = Some(format!(
                "{}->{}",
                local.as_deref().unwrap_or("?"),
                remote.as_deref().unwrap_or("?")
            ));
            attrs.local_addr = local.map(Arc::from);
            attrs.remote_addr = remote.map(Arc::from);
        }
        "SrcSinkObject" | "IpcObject" => {
            name = body.get("type").and_then(Value::as_str).map(str::to_owned);
        }
        "MemoryObject" => {
            let addr = req_i64(at, body, "memoryAddress")?;
            name = Some(format!("0x{addr:x}"));
        }
        "Principal" => {
            let user = req_string(at, body, "userId")?;
            let username = opt_string(at, body, "username")?;
            name = Some(username.unwrap_or(user).to_owned());
            attrs.user = Some(Arc::from(user));
        }
        "Host" => name = Some(req_string(at, body, "hostName")?.to_owned()),
        "RegistryKeyObject" => name = Some(req_string(at, body, "key")?.to_owned()),
        _ => {}
    }
    let mut entity = Entity::new(kind, NativeId::CdmUuid { uuid: uuid.clone() }, host);
    if let Some(n) = name {
        entity = entity.with_name(n);
    }
    entity.pid = attrs.pid;
    entity.ppid = attrs.ppid;
    entity.cmdline = attrs.cmdline;
    entity.user = attrs.user;
    entity.start = attrs.start;
    entity.local_addr = attrs.local_addr;
    entity.remote_addr = attrs.remote_addr;
    Ok((uuid, entity))
}
