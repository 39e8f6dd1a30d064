#!/usr/bin/env python3
"""Writes N synthetic `apim-tune facts` exports (schema apim-tune/facts/v1) of a distributed
API-M 4.2 deployment, plus the `ansible-inventory --list` JSON that names their hosts, for
bench/fleet-merge.sh.

Realistic in shape and size, not in content: four roles (gateways most, then control planes,
traffic managers and key managers; every tenth traffic manager host also runs a key manager with
offset 10, i.e. two homes), every catalog setting of src/apim/catalog.toml, the sysctl keys and
limits an audit reads, two MySQL datasources, the endpoints a 4.2 node calls, fingerprints, and
each home's own audit report embedded. The report is a real one when --report names a file (the
bench passes `apim-tune audit --format json` of a fixture root), else a small stand-in.

A few nodes drift on purpose (a pool size, a cache timeout, somaxconn), so the merge has
findings to group, as in a real fleet.

Usage: gen-fleet-exports.py N OUTDIR [--report FILE]   (deterministic: same N, same files)
Writes OUTDIR/exports/<host>.json and OUTDIR/inventory.json. Standard library only.
"""

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "src", "apim", "catalog.toml")

# Share of each role in the fleet (gateways scale out; the rest are HA pairs and a few more).
ROLES = [
    ("gateway", "gw", 0.60),
    ("control-plane", "cp", 0.15),
    ("traffic-manager", "tm", 0.15),
    ("key-manager", "km", 0.10),
]

SYSCTLS = {
    "fs.file-max": "2097152",
    "kernel.pid_max": "4194304",
    "net.core.netdev_max_backlog": "16384",
    "net.core.rmem_max": "16777216",
    "net.core.somaxconn": "4096",
    "net.core.wmem_max": "16777216",
    "net.ipv4.ip_local_port_range": "1024 65535",
    "net.ipv4.tcp_fin_timeout": "30",
    "net.ipv4.tcp_keepalive_intvl": "30",
    "net.ipv4.tcp_keepalive_probes": "5",
    "net.ipv4.tcp_keepalive_time": "300",
    "net.ipv4.tcp_max_syn_backlog": "8192",
    "net.ipv4.tcp_max_tw_buckets": "262144",
    "net.ipv4.tcp_rmem": "4096 87380 16777216",
    "net.ipv4.tcp_slow_start_after_idle": "0",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv4.tcp_tw_reuse": "1",
    "net.ipv4.tcp_wmem": "4096 65536 16777216",
    "vm.max_map_count": "262144",
    "vm.swappiness": "1",
}


def catalog_ids():
    """The catalog's setting ids, read with a regex (tomllib is 3.11+, and the ids are enough)."""
    try:
        with open(CATALOG, encoding="utf-8") as f:
            ids = re.findall(r'^id = "([^"]+)"', f.read(), re.M)
    except OSError:
        ids = []
    return ids or [f"setting.{i}" for i in range(42)]


def fallback_report(role):
    finding = {
        "code": "SYS010", "name": "tcp-tw-recycle-enabled", "severity": "error",
        "subject": "sysctl:net.ipv4.tcp_tw_recycle", "file": "etc/sysctl.d/90-legacy.conf",
        "line": 3, "column": 1, "current": "1", "expected": "0",
        "message": "`net.ipv4.tcp_tw_recycle` breaks clients behind NAT",
        "why": None, "see": None, "profile": None, "notes": [], "fixable": True, "fix": None,
        "waived": None,
    }
    return {
        "schema": "apim-tune/audit/v1", "version": "0.0.0", "host": {}, "apim": {},
        "profile": {"chain": ["base", role], "role": role, "checks": 60}, "notes": [],
        "findings": [finding], "sysctl": [],
        "summary": {"error": 1, "warning": 0, "info": 0, "fixable": 1, "waived": 0},
    }


def sourced(value, source):
    return {"value": value, "source": source}


def url(scheme, host, port, path=""):
    return {"scheme": scheme, "host": host, "port": port, "path": path}


def endpoint(target, setting, scheme, host, port, path="", line=40):
    raw = f"{scheme}://{host}:{port}{path}"
    return {
        "target": target, "setting": f"deployment.toml:{setting}", "raw": raw,
        "urls": [url(scheme, host, port, path)], "source": f"deployment.toml:{line}:1",
        "written": True,
    }


def home(role, offset, host, peers, ids, report, drift):
    toml = "opt/wso2am-4.2.0/repository/conf/deployment.toml"
    settings = {}
    for i, sid in enumerate(ids):
        value = str([10, 15, 60, 100, 900][i % 5]) if "time" in sid else "true"
        if sid.endswith("enable"):
            value = "true" if role == "gateway" else "false"
        settings[sid] = {
            "value": value, "unit": "seconds" if "time" in sid else None,
            "source": f"deployment.toml:{20 + i}:1", "written": i % 3 == 0,
        }
    if drift and "cache.gateway_token.expiry_time" in settings:
        settings["cache.gateway_token.expiry_time"]["value"] = "600"
    pool = 75 if drift else 50
    datasources = [
        {"name": name, "engine": "mysql", "embedded": False, "host": "db1.internal", "port": 3306,
         "database": db, "max_active": pool, "max_wait_ms": 60000,
         "source": f"{toml}:{line}:1"}
        for name, db, line in [("apim_db", "apim_db", 12), ("shared_db", "shared_db", 18)]
    ]
    cp, tm, km = peers["control-plane"], peers["traffic-manager"], peers["key-manager"]
    endpoints = [
        endpoint("key_manager", "apim.key_manager.service_url", "https", km, 9443,
                 "/services/"),
        endpoint("event_hub", "apim.event_hub.service_url", "https", cp, 9443, "/services/"),
        endpoint("traffic_manager_receiver", "apim.throttling.url_group.traffic_manager_urls",
                 "tcp", tm, 9611),
        endpoint("traffic_manager_receiver", "apim.throttling.url_group.traffic_manager_auth_urls",
                 "ssl", tm, 9711),
        endpoint("revocation_notify", "apim.token.revocation.notifier_url", "https", cp, 9443,
                 "/internal/data/v1/notify"),
    ]
    if role == "control-plane":
        endpoints.append(endpoint("event_duplicate", "apim.event_hub.event_duplicate_url", "tcp",
                                  peers["cp-peer"], 5672))
    return {
        "path": "opt/wso2am-4.2.0",
        "version": sourced("4.2.0", "updates/product.txt"),
        "role": sourced(role, "-Dprofile" if role != "control-plane" else "default"),
        "offset": sourced(offset, "deployment.toml:5:1" if offset else "default"),
        "hostname": sourced(host + ".internal", "deployment.toml:2:1"),
        "node_ip": sourced(None, "not set"),
        "settings": settings,
        "heap_min_mb": sourced(2048, "bin/api-manager.sh:210"),
        "heap_max_mb": sourced(2048, "bin/api-manager.sh:210"),
        "datasources": datasources,
        "endpoints": endpoints,
        "listen_ports": [p + offset for p in (8243, 8280, 9443, 9763, 9611, 9711, 5672)],
        "gateway_labels": ["Default"] if role == "gateway" else [],
        "gateway_environments": [] if role != "control-plane" else [
            {"name": "Default", "kind": "hybrid",
             "service_url": url("https", "gw.internal", 9443, "/services/"),
             "source": "deployment.toml:60:1"}],
        "clustering": {"enabled": False, "membership_scheme": None, "domain": None,
                       "local_member_host": None, "local_member_port": None, "members": [],
                       "source": "default"},
        "cache_invalidation": {"enabled": "false"},
        # One keystore and one set of secrets for the whole deployment, as it should be.
        "fingerprints": {
            k: {"hmac": "hmac-sha256:%064x" % (i + 1), "source": f"{toml}:{60 + i}:1"}
            for i, k in enumerate(["keystore.primary", "keystore.primary.password",
                                   "keystore.tls", "encryption.key", "jwt.signing"])
        },
        "report": report,
    }


def export(host, roles, index, ids, report, hosts_of):
    drift = index % 37 == 5
    peers = {
        r: hosts_of[r][index % len(hosts_of[r])] if hosts_of[r] else "localhost"
        for r in ("control-plane", "traffic-manager", "key-manager")
    }
    cps = hosts_of["control-plane"]
    peers["cp-peer"] = cps[(cps.index(host) + 1) % len(cps)] if host in cps else "localhost"
    sysctl = {
        k: {"live": v, "boot": v, "boot_source": "etc/sysctl.d/90-apim.conf:%d" % (i + 1)}
        for i, (k, v) in enumerate(SYSCTLS.items())
    }
    if drift:
        sysctl["net.core.somaxconn"]["live"] = "1024"
    homes = [home(r, 10 * i, host, peers, ids, report, drift) for i, r in enumerate(roles)]
    return {
        "schema": "apim-tune/facts/v1",
        "tool_version": "0.0.0-bench",
        "host": {
            "hostname": sourced(host, "proc/sys/kernel/hostname"),
            "addresses": [address(index)],
            "nat": sourced("no", "no NAT signal"),
            "cores": sourced(4, "sys/devices/system/cpu/online"),
            "memory_mb": sourced(16384, "proc/meminfo"),
            "kernel": sourced("6.1.0-18-amd64", "proc/sys/kernel/osrelease"),
            "jdk": sourced(17, "bin/java -version"),
            "distro": sourced("debian 12", "etc/os-release"),
            "container": False,
            "sysctl": sysctl,
            "limits": {
                item: {"soft": "65535", "hard": "65535", "user": "wso2carbon",
                       "source": "etc/security/limits.d/wso2.conf"}
                for item in ("nofile", "nproc")
            },
        },
        "homes": homes,
        "fingerprinted": True,
        "notes": [],
    }


def address(index):
    return "10.%d.%d.%d" % (20 + index // 65536, (index // 256) % 256, index % 256)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", type=int)
    p.add_argument("outdir")
    p.add_argument("--report", help="an `apim-tune audit --format json` output to embed")
    a = p.parse_args()
    if a.n < 4:
        sys.exit("N must be at least 4 (one node per role)")
    ids = catalog_ids()
    base_report = None
    if a.report:
        with open(a.report, encoding="utf-8") as f:
            base_report = json.load(f)

    hosts_of = {r: [] for r, _, _ in ROLES}
    order = []
    counts = [max(1, round(a.n * share)) for _, _, share in ROLES]
    counts[0] += a.n - sum(counts)
    for (role, prefix, _), count in zip(ROLES, counts):
        for i in range(count):
            host = f"{prefix}{i + 1}"
            hosts_of[role].append(host)
            order.append((host, role))

    exports = os.path.join(a.outdir, "exports")
    os.makedirs(exports, exist_ok=True)
    groups = {r.replace("-", "_"): {"hosts": []} for r, _, _ in ROLES}
    hostvars = {}
    for index, (host, role) in enumerate(order):
        roles = [role]
        if role == "traffic-manager" and index % 10 == 0:
            roles.append("key-manager")
            groups["key_manager"]["hosts"].append(host)
        groups[role.replace("-", "_")]["hosts"].append(host)
        # `ansible-inventory --list` folds group and `all` variables into each host's.
        hostvars[host] = {"ansible_host": address(index), "apim_tune_db_max_connections": 100000}
        report = base_report if base_report is not None else fallback_report(role)
        doc = export(host, roles, index, ids, report, hosts_of)
        with open(os.path.join(exports, host + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    inventory = {
        "_meta": {"hostvars": hostvars},
        "all": {"children": ["ungrouped"] + list(groups)},
        "ungrouped": {"hosts": []},
    }
    inventory.update(groups)
    with open(os.path.join(a.outdir, "inventory.json"), "w", encoding="utf-8") as f:
        json.dump(inventory, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
