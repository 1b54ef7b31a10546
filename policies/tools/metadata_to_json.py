#!/usr/bin/env python3
# Converts a policy's metadata.yml into the JSON that `tollgate annotate` embeds (kubewarden.md 3.1).
# SPDX-License-Identifier: Apache-2.0
"""usage: metadata_to_json.py <metadata.yml> <out.json>

Checks the keys and values Kubewarden validates, fills in the defaults (backgroundAudit true,
executionMode kubewarden-wapc, policyType kubernetes) and writes the keys in the order
policy-evaluator serializes its Metadata struct. Needs PyYAML (Debian: python3-yaml)."""
import json
import sys

try:
    import yaml
except ImportError:
    sys.exit("metadata_to_json.py: PyYAML is missing (apt-get install python3-yaml)")

EXEC_MODES = {"kubewarden-wapc", "opa", "gatekeeper", "wasi"}
OPERATIONS = {"CREATE", "UPDATE", "DELETE", "CONNECT", "*"}
KNOWN = ["protocolVersion", "rules", "annotations", "mutating", "backgroundAudit",
         "contextAwareResources", "executionMode", "policyType", "minimumKubewardenVersion",
         "hostCapabilities"]


def fail(path, msg):
    sys.exit(f"{path}: {msg}")


def check_rules(path, rules):
    if not isinstance(rules, list):
        fail(path, "rules must be a list")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            fail(path, f"rules[{i}] must be a mapping")
        for key in ("apiGroups", "apiVersions", "resources", "operations"):
            values = rule.get(key)
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                fail(path, f"rules[{i}].{key} must be a non-empty list of strings")
            if "*" in values and len(values) > 1:
                fail(path, f"rules[{i}].{key}: '*' must be alone")
        bad = [op for op in rule["operations"] if op not in OPERATIONS]
        if bad:
            fail(path, f"rules[{i}].operations: unknown operation {bad[0]}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    if not isinstance(meta, dict):
        fail(src, "metadata must be a mapping")
    result = {}
    mode = meta.get("executionMode", "kubewarden-wapc")
    if mode not in EXEC_MODES:
        fail(src, f"unknown executionMode {mode}")
    version = meta.get("protocolVersion")
    if mode == "kubewarden-wapc" and version != "v1":
        fail(src, "protocolVersion v1 is required for the kubewarden-wapc execution mode")
    if version not in ("v1", "Unknown", None):
        fail(src, f"unknown protocolVersion {version}")
    result["protocolVersion"] = version or "Unknown"
    check_rules(src, meta.get("rules", []))
    result["rules"] = meta.get("rules", [])
    annotations = meta.get("annotations") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()):
        fail(src, "annotations must map strings to strings")
    result["annotations"] = annotations
    for key, default in (("mutating", False), ("backgroundAudit", True)):
        value = meta.get(key, default)
        if not isinstance(value, bool):
            fail(src, f"{key} must be a boolean")
        result[key] = value
    result["contextAwareResources"] = meta.get("contextAwareResources") or []
    result["executionMode"] = mode
    policy_type = meta.get("policyType", "kubernetes")
    if policy_type not in ("kubernetes", "raw"):
        fail(src, f"unknown policyType {policy_type}")
    result["policyType"] = policy_type
    for key in ("minimumKubewardenVersion", "hostCapabilities"):
        if key in meta:
            result[key] = meta[key]
    # Legacy keys (e.g. contextAware) are ignored, as policy-evaluator does.
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
