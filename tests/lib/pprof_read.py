"""Readers of agentleak's --pprof files (profile.proto, gzip-compressed): a minimal
protobuf decoder, and `go tool pprof` run with nothing fetched (GOPROXY=off,
GOTOOLCHAIN=local). Used by tests/integration/test_exporters.py and test_python.py.

    p = decode_profile(path)
    leaf_function(p, p["samples"][0])        # "leak_fixed"
    leaf_line(p, p["samples"][0])            # ("chat", "/.../fastapi_app.py", 94)
    status, out = go_pprof(["-top", "-unit=B"], path)
    total, rows = top_rows(out)              # {"leak_fixed": 12288000, ...}
"""

import gzip
import os
import shutil
import subprocess
import tempfile


# ---------------------------------------------------------------------------
# profile.proto, decoded by hand.

def varint(buf, i):
    v = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        c = buf[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """[(field, wire, value)]: value is an int (varint) or bytes (length-delimited)."""
    out = []
    i = 0
    while i < len(buf):
        tag, i = varint(buf, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            v, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field %d" % field)
            v, i = buf[i:i + n], i + n
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        out.append((field, wire, v))
    return out


def repeated(wire, v):
    """A repeated varint field, packed or not."""
    if wire == 0:
        return [v]
    vals, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        vals.append(x)
    return vals


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def decode_profile(path):
    """The profile as dicts: strings, sample_types, samples (locations, values,
    labels {key: str or int}), locations {id: {"mapping", "address", "funcs": [function
    id], "lines": [(function id, line)]}}, functions {id: (name, file)}, mappings
    {id: dict}, default_sample_type."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        raise AssertionError("%s is not gzip (starts with %r)" % (path, raw[:4]))
    p = {"strings": [], "sample_types": [], "samples": [], "locations": {}, "functions": {},
         "mappings": {}, "default": 0, "comments": []}
    raw_samples = []
    for field, wire, v in fields(gzip.decompress(raw)):
        if field == 1:
            d = {f: x for f, _, x in fields(v)}
            p["sample_types"].append((d.get(1, 0), d.get(2, 0)))
        elif field == 2:
            raw_samples.append(v)
        elif field == 3:
            d = {f: x for f, _, x in fields(v)}
            p["mappings"][d.get(1, 0)] = d
        elif field == 4:
            d = {"mapping": 0, "address": 0, "funcs": [], "lines": []}
            lid = 0
            for f, w, x in fields(v):
                if f == 1:
                    lid = x
                elif f == 2:
                    d["mapping"] = x
                elif f == 3:
                    d["address"] = x
                elif f == 4:
                    ln = {lf: lx for lf, _, lx in fields(x)}
                    d["funcs"].append(ln.get(1, 0))
                    d["lines"].append((ln.get(1, 0), signed(ln.get(2, 0))))
            p["locations"][lid] = d
        elif field == 5:
            d = {f: x for f, _, x in fields(v)}
            p["functions"][d.get(1, 0)] = (d.get(2, 0), d.get(4, 0))
        elif field == 6:
            p["strings"].append(v.decode("utf-8"))
        elif field == 13:
            p["comments"] += repeated(wire, v)
        elif field == 14:
            p["default"] = v
    s = p["strings"]
    p["sample_types"] = [(s[t], s[u]) for t, u in p["sample_types"]]
    p["default"] = s[p["default"]]
    p["comments"] = [s[c] for c in p["comments"]]
    p["functions"] = {k: (s[n], s[f]) for k, (n, f) in p["functions"].items()}
    for v in raw_samples:
        smp = {"locations": [], "values": [], "labels": {}}
        for f, w, x in fields(v):
            if f == 1:
                smp["locations"] += repeated(w, x)
            elif f == 2:
                smp["values"] += [signed(y) for y in repeated(w, x)]
            elif f == 3:
                d = {lf: lx for lf, _, lx in fields(x)}
                key = s[d.get(1, 0)]
                smp["labels"][key] = s[d[2]] if d.get(2) else d.get(3, 0)
        p["samples"].append(smp)
    return p


def leaf_function(p, smp):
    """Name of the function of a sample's first location ("" if unknown)."""
    if not smp["locations"]:
        return ""
    loc = p["locations"].get(smp["locations"][0])
    if not loc or not loc["funcs"]:
        return ""
    return p["functions"][loc["funcs"][0]][0]


def leaf_line(p, smp):
    """(function name, file, line) of a sample's first location's first line, or
    None when it has none."""
    loc = p["locations"].get(smp["locations"][0]) if smp["locations"] else None
    if not loc or not loc["lines"]:
        return None
    fid, line = loc["lines"][0]
    name, path = p["functions"].get(fid, ("", ""))
    return name, path, line


# ---------------------------------------------------------------------------
# go tool pprof.

def have_go():
    return shutil.which("go") is not None


def go_pprof(args, path):
    """(status, output) of go tool pprof ARGS PATH, with nothing fetched."""
    tmp = tempfile.mkdtemp(prefix="agentleak-go-")
    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "cache"),
               GOPATH=os.path.join(tmp, "gopath"), GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
               GOPROXY="off", PPROF_TMPDIR=tmp)
    try:
        res = subprocess.run(["go", "tool", "pprof"] + list(args) + [path], cwd=tmp, env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res.returncode, (res.stdout + res.stderr).decode(errors="replace")


def top_rows(out):
    """total, {function: flat} of go tool pprof -top -unit=B (values in bytes)."""
    total = None
    rows = {}
    for line in out.splitlines():
        if "Showing nodes accounting for" in line and " total" in line:
            total = int(float(line.rsplit(" of ", 1)[1].split()[0].rstrip("B")))
            continue
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[1].endswith("%") and parts[4].endswith("%"):
            try:
                rows[parts[5]] = rows.get(parts[5], 0) + int(float(parts[0].rstrip("B")))
            except ValueError:
                pass
    return total, rows


