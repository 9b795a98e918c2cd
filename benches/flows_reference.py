"""Reference implementation for benches/flows.sh: the job of `residency flows` on a
VPC Flow Log (default version-2 format), written plainly in Python with the
`maxminddb` package.

It reads the log, counts REJECT/NODATA/SKIPDATA records apart, and keeps for each
destination address its flows and bytes per port, its first and last time and its
lowest source. Each destination is then classed once (internal ranges, else the
MMDB's country, and that country's standing under the project's EEA and adequacy
lists on the given date), and the traffic summed per country, with each country's
networks (/24, /48) and ports ranked by bytes: the summary and the per-country
rows of `residency flows --format json`, less the policy's findings.

With `--countries-only` it does the smaller job the benchmark measured before
(flows and bytes per country only, no per-destination state), kept for
comparison with earlier figures.

usage: python3 flows_reference.py LOG MMDB [--as-of YYYY-MM-DD] [--countries-only]
"""
import datetime, ipaddress, json, os, sys
import maxminddb

INTERNAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "::1/128", "fc00::/7", "fe80::/10", "2001:db8::/32")]
METADATA = ipaddress.ip_address("169.254.169.254")
TOP_NETWORKS = 100
KNOWLEDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "policies", "knowledge")


def load_classes(as_of):
    """country code -> class on `as_of`, from the project's EEA and adequacy lists."""
    with open(os.path.join(KNOWLEDGE, "eea.json")) as f:
        eea = json.load(f)
    with open(os.path.join(KNOWLEDGE, "adequacy.json")) as f:
        adequacy = json.load(f)
    classes = {}
    for d in adequacy["decisions"]:
        day = lambda k: d[k] and datetime.date.fromisoformat(d[k])
        in_force = (day("in_force_from") <= as_of
                    and (not d["expires"] or as_of <= day("expires"))
                    and (not d["invalidated"] or as_of < day("invalidated")))
        if in_force and d["jurisdiction"] not in classes:
            classes[d["jurisdiction"]] = "conditional" if d["scope"] == "conditional" else "adequate"
    for m in eea["members"] + eea["territories_in_eea"]:
        classes[m["code"]] = "eea"
    return classes


def number(field):
    return None if field == "-" else int(field)


def countries_only(log, reader):
    cache = {}
    flows, bytes_ = {}, {}
    records = rejected = skipped = malformed = 0
    with open(log) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0] == "version":
                continue
            records += 1
            if len(fields) != 14:
                malformed += 1
                continue
            if fields[13] in ("NODATA", "SKIPDATA"):
                skipped += 1
                continue
            if fields[12] == "REJECT":
                rejected += 1
                continue
            dst = fields[4]
            key = cache.get(dst)
            if key is None:
                ip = ipaddress.ip_address(dst)
                if any(ip in n for n in INTERNAL if n.version == ip.version):
                    key = "internal"
                else:
                    rec = reader.get(dst) or {}
                    key = rec.get("country_code") or (rec.get("country") or {}).get("iso_code") or "unknown"
                cache[dst] = key
            flows[key] = flows.get(key, 0) + 1
            bytes_[key] = bytes_.get(key, 0) + int(fields[9])
    return {"records": records, "rejected": rejected, "skipped": skipped, "malformed": malformed,
            "flows_by_country": flows, "bytes_by_country": bytes_}


def main():
    args = sys.argv[1:]
    as_of = datetime.date.today()
    if "--as-of" in args:
        i = args.index("--as-of")
        as_of = datetime.date.fromisoformat(args[i + 1])
        del args[i:i + 2]
    only = "--countries-only" in args
    args = [a for a in args if a != "--countries-only"]
    log, mmdb = args
    reader = maxminddb.open_database(mmdb)
    if only:
        print(json.dumps(countries_only(log, reader), sort_keys=True))
        return

    # Per destination address: [flows, bytes, first start, last end, lowest source, {port: [flows, bytes]}].
    dests = {}
    source_keys = {}  # source text -> (version, integer), which sort as addresses do: sources repeat
    records = rejected = skipped = malformed = 0
    with open(log) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0] == "version":
                continue
            records += 1
            if len(fields) != 14:
                malformed += 1
                continue
            if fields[13] in ("NODATA", "SKIPDATA"):
                skipped += 1
                continue
            if fields[12] == "REJECT":
                rejected += 1
                continue
            _, _, _, src, dst, _, port, _, _, nbytes, start, end, _, _ = fields
            try:
                port, nbytes, start, end = int(port), int(nbytes), int(start), int(end)
            except ValueError:  # `-` (absent) in some field, or not a number
                try:
                    port, nbytes, start, end = number(port) or 0, number(nbytes) or 0, number(start), number(end)
                except ValueError:
                    malformed += 1
                    continue
            s = source_keys.get(src, 0)
            d = dests.get(dst)
            try:
                if s == 0:
                    ip = None if src == "-" else ipaddress.ip_address(src)
                    s = source_keys[src] = ip and (ip.version, int(ip))
                if d is None:
                    ipaddress.ip_address(dst)
                    d = dests[dst] = [0, 0, None, None, None, {}]
            except ValueError:
                malformed += 1
                continue
            last = end if end is not None else start
            d[0] += 1
            d[1] += nbytes
            if start is not None and (d[2] is None or start < d[2]):
                d[2] = start
            if last is not None and (d[3] is None or last > d[3]):
                d[3] = last
            if s is not None and (d[4] is None or s < d[4]):
                d[4] = s
            p = d[5].get(port)
            if p is None:
                d[5][port] = [1, nbytes]
            else:
                p[0] += 1
                p[1] += nbytes

    standing = load_classes(as_of)
    classes = dict.fromkeys(("internal", "eea", "adequate", "conditional", "third_country", "unknown"), 0)
    metadata_flows = 0
    countries = {}
    for dst, (flows, nbytes, first, last, source, ports) in dests.items():
        ip = ipaddress.ip_address(dst)
        if any(ip in n for n in INTERNAL if n.version == ip.version):
            key = cls = "internal"
            if ip == METADATA:
                metadata_flows += flows
        else:
            rec = reader.get(dst) or {}
            key = rec.get("country_code") or (rec.get("country") or {}).get("iso_code") or "unknown"
            cls = "unknown" if key == "unknown" else standing.get(key, "third_country")
        classes[cls] += flows
        c = countries.get(key)
        if c is None:
            c = countries[key] = {"country": key, "class": cls, "flows": 0, "bytes": 0, "addresses": 0,
                                  "first_seen": None, "last_seen": None, "sample_source": None,
                                  "networks": {}}
        c["flows"] += flows
        c["bytes"] += nbytes
        c["addresses"] += 1
        if first is not None and (c["first_seen"] is None or first < c["first_seen"]):
            c["first_seen"] = first
        if last is not None and (c["last_seen"] is None or last > c["last_seen"]):
            c["last_seen"] = last
        if source is not None:
            s = c["sample_source"]
            if s is None or source < s:
                c["sample_source"] = source
        net = ipaddress.ip_network(f"{dst}/{24 if ip.version == 4 else 48}", strict=False)
        for port, (pf, pb) in ports.items():
            row = c["networks"].setdefault((net, port), [0, 0])
            row[0] += pf
            row[1] += pb

    rows = []
    for c in countries.values():
        nets = c.pop("networks")
        ranked = sorted(nets.items(), key=lambda kv: (-kv[1][1], kv[0][0].version, kv[0][0], kv[0][1]))
        c["networks"] = [{"network": str(net), "port": port, "flows": f, "bytes": b}
                         for (net, port), (f, b) in ranked[:TOP_NETWORKS]]
        c["networks_total"] = len(nets)
        s = c["sample_source"]
        if s is not None:
            c["sample_source"] = str(ipaddress.IPv4Address(s[1]) if s[0] == 4 else ipaddress.IPv6Address(s[1]))
        rows.append(c)
    rows.sort(key=lambda c: (-c["bytes"], c["country"]))
    public = [c for c in rows if c["class"] != "internal"]
    summary = {"records": records, "rejected": rejected, "skipped": skipped, "malformed": malformed,
               "classes": classes, "metadata_flows": metadata_flows,
               "flows_by_country": {c["country"]: c["flows"] for c in public},
               "bytes_by_country": {c["country"]: c["bytes"] for c in public}}
    print(json.dumps({"summary": summary, "destinations": rows}, sort_keys=True))


main()
