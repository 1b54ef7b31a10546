// psa-label-enforcer: sets pod-security.kubernetes.io/* labels on Namespaces (a mutating policy).
// SPDX-License-Identifier: Apache-2.0
//
// Settings (after Kubewarden's psa-label-enforcer):
//   {"modes": {"enforce": "privileged|baseline|restricted", "enforce-version": "latest|v1.25",
//              "audit": ..., "audit-version": ..., "warn": ..., "warn-version": ...}}
// At least one of enforce/audit/warn is required; a *-version needs its mode. The policy
// overwrites those labels on the Namespace and answers with the mutated object, or accepts
// unchanged when the labels already have the configured values.
//
// The waPC guest side is written here by hand (no wapc-guest crate offline): the exports and
// imports follow kubewarden.md 2.2.

use serde_json::{json, Map, Value};

#[link(wasm_import_module = "wapc")]
extern "C" {
    fn __guest_request(op_ptr: *mut u8, ptr: *mut u8);
    fn __guest_response(ptr: *const u8, len: usize);
    fn __guest_error(ptr: *const u8, len: usize);
}

const MODES: [&str; 3] = ["enforce", "audit", "warn"];
const LEVELS: [&str; 3] = ["privileged", "baseline", "restricted"];
const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// `latest` or `v<major>.<minor>` where the minor has no leading zero.
fn valid_version(v: &str) -> bool {
    if v == "latest" {
        return true;
    }
    let rest = match v.strip_prefix('v') {
        Some(r) => r,
        None => return false,
    };
    let mut parts = rest.split('.');
    let (major, minor) = match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => (a, b),
        _ => return false,
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    digits(major) && digits(minor) && (minor == "0" || !minor.starts_with('0'))
}

/// The (label, value) pairs the settings ask for, or the reason the settings are invalid.
fn wanted_labels(settings: &Value) -> Result<Vec<(String, String)>, String> {
    let modes = match settings.get("modes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("modes must be an object".to_string()),
    };
    let known: Vec<String> = MODES
        .iter()
        .flat_map(|m| [m.to_string(), format!("{m}-version")])
        .collect();
    if let Some(unknown) = modes.keys().find(|k| !known.contains(k)) {
        return Err(format!("unknown field `{unknown}` in modes"));
    }
    let mut labels = Vec::new();
    let mut any_mode = false;
    for mode in MODES {
        let level = match modes.get(mode) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if LEVELS.contains(&s.as_str()) => Some(s.clone()),
            Some(_) => {
                return Err(format!(
                    "{mode} must be one of privileged, baseline or restricted"
                ))
            }
        };
        let version_key = format!("{mode}-version");
        let version = match modes.get(&version_key) {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if valid_version(v) => Some(v.clone()),
            Some(v) => {
                let shown = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                return Err(format!(
                    "Version {shown} is invalid. It must follow the v<major>.<minor> pattern or be 'latest' value"
                ));
            }
        };
        if version.is_some() && level.is_none() {
            return Err(format!("cannot define {mode} version with no {mode} mode."));
        }
        if let Some(level) = level {
            any_mode = true;
            labels.push((format!("{LABEL_PREFIX}{mode}"), level));
        }
        if let Some(version) = version {
            labels.push((format!("{LABEL_PREFIX}{version_key}"), version));
        }
    }
    if !any_mode {
        return Err(
            "At least one of the 'enforce', 'audit' or 'warn' configuration must be defined"
                .to_string(),
        );
    }
    Ok(labels)
}

fn validate_settings(payload: &[u8]) -> Result<Value, String> {
    let settings: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    Ok(match wanted_labels(&settings) {
        Ok(_) => json!({"valid": true}),
        Err(message) => json!({"valid": false, "message": message}),
    })
}

fn validate(payload: &[u8]) -> Result<Value, String> {
    let mut request: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let settings = request.get("settings").cloned().unwrap_or(Value::Null);
    let wanted = match wanted_labels(&settings) {
        Ok(w) => w,
        Err(message) => return Ok(json!({"accepted": false, "message": message, "code": 400})),
    };
    let is_namespace = request.pointer("/request/kind/kind") == Some(&json!("Namespace"));
    let object = match request.pointer_mut("/request/object") {
        Some(o @ Value::Object(_)) if is_namespace => o,
        // Not a Namespace, or a DELETE without object: nothing to label.
        _ => return Ok(json!({"accepted": true})),
    };
    let mut changed = false;
    {
        let meta = object
            .as_object_mut()
            .expect("checked above")
            .entry("metadata")
            .or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        let labels = meta
            .as_object_mut()
            .expect("made an object above")
            .entry("labels")
            .or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        let labels = labels.as_object_mut().expect("made an object above");
        for (key, value) in wanted {
            if labels.get(&key).and_then(Value::as_str) != Some(value.as_str()) {
                labels.insert(key, Value::String(value));
                changed = true;
            }
        }
    }
    Ok(if changed {
        json!({"accepted": true, "mutated_object": object})
    } else {
        json!({"accepted": true})
    })
}

fn respond(result: Result<Value, String>) -> i32 {
    match result.and_then(|v| serde_json::to_vec(&v).map_err(|e| e.to_string())) {
        Ok(bytes) => {
            unsafe { __guest_response(bytes.as_ptr(), bytes.len()) };
            1
        }
        Err(message) => {
            unsafe { __guest_error(message.as_ptr(), message.len()) };
            0
        }
    }
}

#[no_mangle]
pub extern "C" fn __guest_call(op_len: i32, msg_len: i32) -> i32 {
    let mut op = vec![0u8; op_len.max(0) as usize];
    let mut msg = vec![0u8; msg_len.max(0) as usize];
    unsafe { __guest_request(op.as_mut_ptr(), msg.as_mut_ptr()) };
    match op.as_slice() {
        b"validate" => respond(validate(&msg)),
        b"validate_settings" => respond(
            validate_settings(&msg).map_err(|e| format!("cannot parse the settings: {e}")),
        ),
        b"protocol_version" => respond(Ok(json!("v1"))),
        other => respond(Err(format!(
            "unknown operation: {}",
            String::from_utf8_lossy(other)
        ))),
    }
}
