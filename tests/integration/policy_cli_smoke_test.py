# Smoke test of `tollgate run|bench|inspect|annotate` on the example policies: outputs and exit codes.
# SPDX-License-Identifier: Apache-2.0
#
# Usage: policy_cli_smoke_test.py TOLLGATE BUILT_POLICIES_DIR POLICIES_SOURCE_DIR FIXTURES_DIR
import base64
import json
import os
import subprocess
import sys
import tempfile

TOLLGATE, BUILT, SOURCE, FIXTURES = sys.argv[1:5]
failures = []


def policy(name, annotated=True):
    return os.path.join(BUILT, name + (".wasm" if annotated else ".unannotated.wasm"))


def fixture(name):
    return os.path.join(FIXTURES, name)


def tollgate(args, stdin=None):
    return subprocess.run([TOLLGATE] + args, capture_output=True, text=True, timeout=300,
                          input=stdin)


def check(label, args, code=0, stdin=None, stderr_has=None, verify=None):
    proc = tollgate(args, stdin)
    problems = []
    if proc.returncode != code:
        problems.append(f"exit {proc.returncode}, want {code}; stderr {proc.stderr!r}")
    if stderr_has is not None and stderr_has not in proc.stderr:
        problems.append(f"stderr {proc.stderr!r} lacks {stderr_has!r}")
    if verify is not None and not problems:
        try:
            problem = verify(proc.stdout)
        except Exception as e:  # a malformed output is a failure, not a crash of the test
            problem = f"{type(e).__name__}: {e}; stdout {proc.stdout!r}"
        if problem:
            problems.append(problem)
    print(f"{'FAIL' if problems else 'ok'}: {label}")
    for p in problems:
        print(f"    {p}")
    if problems:
        failures.append(label)
    return proc


def one_response(stdout):
    """The single JSON line, and its top-level keys in order."""
    lines = stdout.splitlines()
    if len(lines) != 1:
        raise ValueError(f"want one line, got {len(lines)}")
    keys = [k for k, _ in json.loads(lines[0], object_pairs_hook=lambda pairs: pairs)]
    return json.loads(lines[0]), keys


def response_is(allowed, message=None, uid=None, patched=None, original=None):
    """Checks an AdmissionResponse line: field order, nulls, status, and the patch's effect."""
    def verify(stdout):
        r, keys = one_response(stdout)
        want_keys = ["uid", "allowed"]
        if patched is not None:
            want_keys += ["patchType", "patch"]
        if message is not None:
            want_keys.append("status")
        want_keys += ["auditAnnotations", "warnings"]
        if keys != want_keys:
            return f"keys {keys}, want {want_keys}"
        if r["allowed"] is not allowed:
            return f"allowed {r['allowed']}, want {allowed}"
        if uid is not None and r["uid"] != uid:
            return f"uid {r['uid']!r}, want {uid!r}"
        if message is not None and r["status"] != {"message": message}:
            return f"status {r['status']}, want message {message!r}"
        if r["auditAnnotations"] is not None or r["warnings"] is not None:
            return "auditAnnotations and warnings must be null"
        if patched is not None:
            if r["patchType"] != "JSONPatch":
                return f"patchType {r['patchType']!r}"
            patch = json.loads(base64.b64decode(r["patch"], validate=True))
            result = apply_patch(original, patch)
            if result != patched:
                return f"patched object differs: {json.dumps(result)[:300]}"
        return None
    return verify


def pointer_parts(path):
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def apply_patch(doc, patch):
    """RFC 6902 add/remove/replace, enough to check the CLI's patches."""
    doc = json.loads(json.dumps(doc))
    for op in patch:
        parts = pointer_parts(op["path"])
        if not parts:
            if op["op"] in ("add", "replace"):
                doc = op["value"]
                continue
            raise ValueError(f"unsupported {op}")
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "add":
                parent.insert(index, op["value"])
            elif op["op"] == "replace":
                parent[index] = op["value"]
            elif op["op"] == "remove":
                del parent[index]
            else:
                raise ValueError(f"unsupported {op}")
        else:
            if op["op"] in ("add", "replace"):
                if op["op"] == "replace" and last not in parent:
                    raise ValueError(f"replace of a missing member: {op}")
                parent[last] = op["value"]
            elif op["op"] == "remove":
                del parent[last]
            else:
                raise ValueError(f"unsupported {op}")
    return doc


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


expectations = load(os.path.join(SOURCE, "expectations.json"))["policies"]

with tempfile.TemporaryDirectory() as tmp:
    privileged = fixture("review_pod_privileged.json")
    review = load(privileged)

    # --- run --------------------------------------------------------------------------------
    check("run: privileged pod rejected with Kubewarden's message",
          ["run", policy("pod-privileged"), "--request-path", privileged],
          verify=response_is(False, "Privileged container is not allowed",
                             uid=review["request"]["uid"]))
    check("run: file:// URL and a bare AdmissionRequest on stdin",
          ["run", "file://" + policy("pod-privileged"), "-r", "-"],
          stdin=open(fixture("req_pod_no_privileged.json"), encoding="utf-8").read(),
          verify=response_is(True))
    check("run: invalid settings refused before evaluation",
          ["run", policy("pod-privileged"), "-r", privileged,
           "--settings-json", '{"skip_init_containers":"yes"}'],
          code=1,
          stderr_has="Provided settings are not valid: skip_init_containers must be a boolean")
    settings_yaml = os.path.join(tmp, "settings.yml")
    with open(settings_yaml, "w", encoding="utf-8") as f:
        f.write("# YAML settings\nskip_init_containers: true\n")
    check("run: --settings-path YAML",
          ["run", policy("pod-privileged"), "-r", fixture("req_pod_privileged_init_container.json"),
           "--settings-path", settings_yaml],
          verify=response_is(True))
    check("run: the default settings reject the privileged init container",
          ["run", policy("pod-privileged"), "-r", fixture("req_pod_privileged_init_container.json")],
          verify=response_is(False, "Privileged init container is not allowed"))

    # Mutations: the printed patch applied to request.object gives the expected object.
    for name, fixture_name in (("container-resources", "review_pod_privileged.json"),
                               ("container-resources", "req_deployment_with_limits.json"),
                               ("psa-label-enforcer", "req_namespace_minimal.json")):
        spec = expectations[name]
        case = next(c for c in spec["cases"]
                    if c["fixture"] == fixture_name and "settings" not in c)
        request = load(fixture(fixture_name))
        request = request.get("request", request) if request.get("kind") == "AdmissionReview" \
            else request
        wanted = apply_patch(request["object"], case["mutation"])
        check(f"run: {name} mutates {fixture_name} (JSONPatch)",
              ["run", policy(name), "-r", fixture(fixture_name),
               "--settings-json", json.dumps(spec["settings"])],
              verify=response_is(True, patched=wanted, original=request["object"]))
    check("run: container-resources maxLimit rejection keeps code 400",
          ["run", policy("container-resources"), "-r", fixture("req_deployment_with_limits.json"),
           "--settings-json", '{"cpu":{"maxLimit":"500m"}}'],
          verify=lambda out: None if one_response(out)[0]["status"] == {
              "message": "cpu limit '1' exceeds the max allowed value '500m'", "code": 400}
          else f"status {one_response(out)[0].get('status')}")
    check("run: DELETE passes without a mutation",
          ["run", policy("container-resources"), "-r", fixture("req_pod_delete.json"),
           "--settings-json", json.dumps(expectations["container-resources"]["settings"])],
          verify=response_is(True))

    # WASI mode, raw policy type from the metadata.
    raw_settings = json.dumps(expectations["raw-validation-wasi"]["settings"])
    check("run: raw WASI policy rejects",
          ["run", policy("raw-validation-wasi"), "-r", fixture("raw_validation.json"),
           "--settings-json", raw_settings],
          verify=response_is(False, "not allowed: tonio eats hay (resource not in valid_resources)",
                             uid=""))
    check("run: raw WASI policy accepts",
          ["run", policy("raw-validation-wasi"), "-r", fixture("raw_mutate.json"),
           "--settings-json", raw_settings],
          verify=response_is(True, uid=""))

    # Record then replay (safe-labels' regexes run on the host but are not outside exchanges).
    session = os.path.join(tmp, "session.yml")
    safe_settings = json.dumps(expectations["safe-labels"]["settings"])
    recorded = check("run: --record-host-capabilities-interactions",
                     ["run", policy("safe-labels"), "-r", fixture("req_ingress_labels.json"),
                      "--settings-json", safe_settings,
                      "--record-host-capabilities-interactions", session],
                     verify=lambda out: None if os.path.exists(session) else "no session file")
    check("run: --replay-host-capabilities-interactions gives the same answer",
          ["run", policy("safe-labels"), "-r", fixture("req_ingress_labels.json"),
           "--settings-json", safe_settings,
           "--replay-host-capabilities-interactions", session],
          verify=lambda out: None if out == recorded.stdout else f"{out!r} != {recorded.stdout!r}")
    check("run: record and replay together are refused",
          ["run", policy("safe-labels"), "-r", privileged,
           "--record-host-capabilities-interactions", session,
           "--replay-host-capabilities-interactions", session], code=108,
          stderr_has="excludes")

    check("run: missing policy", ["run", os.path.join(tmp, "none.wasm"), "-r", privileged],
          code=1, stderr_has="cannot open")
    check("run: a remote URL is refused",
          ["run", "registry://ghcr.io/kubewarden/policies/pod-privileged:v1", "-r", privileged],
          code=1, stderr_has="only local files")
    check("run: a request that is not JSON",
          ["run", policy("pod-privileged"), "-r", settings_yaml], code=1,
          stderr_has="not valid JSON")
    check("run: the unannotated module still runs (with a warning)",
          ["run", policy("pod-privileged", annotated=False), "-r", privileged],
          stderr_has="no io.kubewarden.metadata section",
          verify=response_is(False, "Privileged container is not allowed"))

    # --- bench ------------------------------------------------------------------------------
    def bench_json(out):
        r = json.loads(out)
        for op in ("validate_settings", "validate"):
            for phase in ("instantiate", "evaluate", "teardown", "total"):
                s = r[op][phase]
                if not (0 <= s["min_us"] <= s["p50_us"] <= s["p99_us"] <= s["max_us"]):
                    return f"{op}.{phase}: inconsistent {s}"
        if r["iterations"] != 5 or r["response"]["allowed"] is not False:
            return f"report {r}"
        return None
    check("bench: JSON report", ["bench", policy("pod-privileged"), "-r", privileged,
                                 "--iterations", "5", "--warm-up", "1", "-o", "json"],
          verify=bench_json)
    check("bench: text report",
          ["bench", policy("pod-privileged"), "-r", privileged, "-n", "3", "--warm-up", "0"],
          verify=lambda out: None if "validate           instantiate" in out
          and "validate_settings  evaluate" in out else f"stdout {out!r}")
    check("bench: invalid settings", ["bench", policy("pod-privileged"), "-r", privileged,
                                      "--settings-json", '{"skip_init_containers":1}'],
          code=1, stderr_has="Provided settings are not valid")

    # --- inspect ----------------------------------------------------------------------------
    def inspect_json(out):
        r = json.loads(out)
        m = r["metadata"]
        if m["protocolVersion"] != "v1" or m["executionMode"] != "kubewarden-wapc":
            return f"metadata {m}"
        if m["mutating"] is not True or not m["rules"]:
            return f"metadata {m}"
        imports = {(i["module"], i["name"]) for i in r["imports"]}
        exports = {e["name"] for e in r["exports"]}
        if ("wapc", "__guest_request") not in imports or "__guest_call" not in exports:
            return f"imports {imports}, exports {exports}"
        return None
    check("inspect -o json", ["inspect", "-o", "json", policy("container-resources")],
          verify=inspect_json)
    check("inspect (yaml)", ["inspect", policy("raw-validation-wasi")],
          verify=lambda out: None if "executionMode: wasi" in out
          and "protocolVersion: Unknown" in out and "policyType: raw" in out else f"{out!r}")
    check("inspect: no metadata",
          ["inspect", "-o", "json", policy("pod-privileged", annotated=False)],
          verify=lambda out: None if json.loads(out)["metadata"] is None else out)

    # --- annotate ---------------------------------------------------------------------------
    usage = os.path.join(tmp, "usage.md")
    with open(usage, "w", encoding="utf-8") as f:
        f.write("# pod-privileged\n\nRejects privileged containers.\n")
    out_wasm = os.path.join(tmp, "annotated.wasm")
    meta = os.path.join(SOURCE, "pod-privileged", "metadata.yml")
    check("annotate with usage",
          ["annotate", "-m", meta, "-u", usage, "-o", out_wasm,
           policy("pod-privileged", annotated=False)])

    def annotated_ok(out):
        a = json.loads(out)["metadata"]["annotations"]
        if a.get("io.kubewarden.policy.usage") != open(usage, encoding="utf-8").read():
            return f"usage annotation {a.get('io.kubewarden.policy.usage')!r}"
        if "io.kubewarden.kwctl" not in a:
            return "no io.kubewarden.kwctl annotation"
        return None
    check("inspect the annotated module", ["inspect", "-o", "json", out_wasm], verify=annotated_ok)
    again = os.path.join(tmp, "again.wasm")
    check("annotate an annotated module replaces its section",
          ["annotate", "-m", meta, "-o", again, out_wasm],
          verify=lambda out: None if open(again, "rb").read().count(b"io.kubewarden.metadata") == 1
          else "more than one io.kubewarden.metadata section")
    check("run the annotated module", ["run", again, "-r", privileged],
          verify=response_is(False, "Privileged container is not allowed"))

    bad_rules = os.path.join(tmp, "bad_rules.yml")
    with open(bad_rules, "w", encoding="utf-8") as f:
        f.write("rules:\n- apiGroups: ['']\n  apiVersions: [v1]\n  resources: ['*', pods]\n"
                "  operations: [CREATE]\nmutating: false\n")
    check("annotate: overlapping resource wildcards refused",
          ["annotate", "-m", bad_rules, "-o", os.path.join(tmp, "x.wasm"),
           policy("pod-privileged", annotated=False)],
          code=1, stderr_has="overlaps with '*'")
    bad_op = os.path.join(tmp, "bad_op.yml")
    with open(bad_op, "w", encoding="utf-8") as f:
        f.write("rules:\n- apiGroups: ['']\n  apiVersions: [v1]\n  resources: [pods]\n"
                "  operations: [PATCH]\n")
    check("annotate: unknown operation refused",
          ["annotate", "-m", bad_op, "-o", os.path.join(tmp, "x.wasm"),
           policy("pod-privileged", annotated=False)],
          code=1, stderr_has="operations")
    opa = os.path.join(tmp, "opa.yml")
    with open(opa, "w", encoding="utf-8") as f:
        f.write("rules: []\nexecutionMode: opa\n")
    check("annotate: opa mode on a module without opa_ exports refused",
          ["annotate", "-m", opa, "-o", os.path.join(tmp, "x.wasm"),
           policy("pod-privileged", annotated=False)],
          code=1, stderr_has="executionMode opa")
    check("annotate: WASI policy gets protocolVersion Unknown",
          ["annotate", "-m", os.path.join(SOURCE, "raw-validation-wasi", "metadata.yml"),
           "-o", os.path.join(tmp, "wasi.wasm"), policy("raw-validation-wasi", annotated=False)])
    check("inspect the WASI annotation", ["inspect", "-o", "json", os.path.join(tmp, "wasi.wasm")],
          verify=lambda out: None
          if json.loads(out)["metadata"]["protocolVersion"] == "Unknown" else out)

if failures:
    print(f"{len(failures)} failed")
    sys.exit(1)
print("all passed")
